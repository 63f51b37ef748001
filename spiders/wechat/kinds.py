"""What kind of post a WeChat page or list entry is: by item_show_type, message type, or the content."""

from __future__ import annotations

from core.enums import PostKind

# item_show_type (article pages, the MP list, newer history entries).
SHOW_TYPES = {0: PostKind.ARTICLE, 5: PostKind.VIDEO, 7: PostKind.AUDIO, 8: PostKind.IMAGE, 10: PostKind.TEXT}
# comm_msg_info.type in the history list (observed): 49 an article broadcast (图文), 1 text, 3 picture,
# 34 voice, 43 / 62 video.
MESSAGE_TYPES = {49: PostKind.ARTICLE, 1: PostKind.TEXT, 3: PostKind.IMAGE, 34: PostKind.AUDIO}
MESSAGE_TYPES |= {43: PostKind.VIDEO, 62: PostKind.VIDEO}
# Pages older than item_show_type (2018) mark nothing: a video under a caption-length text is a video post.
CAPTION_CHARS = 200


def show_type_kind(show_type: int | None) -> PostKind:
    """The kind an item_show_type names; an unknown or missing one is an article."""
    return SHOW_TYPES.get(show_type, PostKind.ARTICLE) if show_type is not None else PostKind.ARTICLE


def message_kind(message_type: int | None, show_type: int | None = None) -> PostKind:
    """The kind of a history entry: its article's item_show_type when it has one, else its message type."""
    if show_type is not None and show_type in SHOW_TYPES:
        return SHOW_TYPES[show_type]
    return MESSAGE_TYPES.get(message_type, PostKind.ARTICLE) if message_type is not None else PostKind.ARTICLE


def article_kind(
    show_type: int | None, *, voices: int = 0, videos: int = 0, text_length: int = 0
) -> PostKind:
    """The kind of an article page: a non-zero item_show_type says it; else a voice in the content
    (<mpvoice>) makes it audio, and a video with no more than a caption of text makes it video."""
    if show_type is not None and show_type != 0 and show_type in SHOW_TYPES:
        return SHOW_TYPES[show_type]
    if voices:
        return PostKind.AUDIO
    if videos and text_length <= CAPTION_CHARS:
        return PostKind.VIDEO
    return PostKind.ARTICLE
