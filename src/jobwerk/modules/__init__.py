"""Modules: packages that contribute workflows, settings, routes and commands."""
