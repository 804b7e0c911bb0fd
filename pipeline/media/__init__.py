"""The media library: fetch, probe, the analysis stages, scoring and the render.

Plain functions over typed data. It imports neither `storage` nor `bot` nor the job layer
(`pipeline.jobs`), so it runs anywhere a file and a Settings object are at hand."""
