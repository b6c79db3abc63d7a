"""What modules build on: HTTP dependencies for their routes and the step contract for workflows."""
