"""The post kit of a clip: a title, a description and hashtags, ready to paste under the
Short. Written offline from the clip's own words (`offline`), or by a language model when one
is configured (`ask`), which falls back to the offline writer on any failure."""

from pipeline.media.postkit.kit import ClipBrief, PostKit

__all__ = ["ClipBrief", "PostKit"]
