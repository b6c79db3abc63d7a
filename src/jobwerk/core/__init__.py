"""The job engine: workflows, runs, executors, scheduler and events."""
