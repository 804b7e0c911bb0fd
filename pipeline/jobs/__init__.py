"""The job layer: the stage graph and its runner, the worker with the queue, the learning
store, retention, metrics, logs and evaluation. Uses `pipeline.media` and `storage`."""
