"""Helpers shared by the tests; fixtures live in the conftest files.

api        API keys, settings for a test app, the in-process client, run polling, serving
engine     test workflows, and starting and awaiting runs on a runtime
isolation  undoing what a test installed into this process (``sys.path``, imports)
manager    third-party module wheels in a catalog folder, and manager operations over HTTP
tls        a private CA and a server certificate for 127.0.0.1
temu       the TEMU sandbox client's credentials, a served shop with its JTL replica
preview    what a TEMU dry run would write, and the world it must leave unchanged
docs       scrape requests for loopback crawls, and the built documentation sites
web        the dashboard served in a thread, and browser tabs on it
"""
