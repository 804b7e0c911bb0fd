"""Persistence. The pipeline keeps each job's stage artifacts in its job folder
(`pipeline.cache`); the SQL job queue, users, clips and feedback arrive here with the worker."""
