"""Actors: the tasks that own the journal writer and the running jobs."""
