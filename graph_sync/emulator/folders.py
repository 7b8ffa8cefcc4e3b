"""A mailbox's folder tree: Outlook's default folders (with their well-known names), custom folders nested
anywhere, and search folders.

Folders are keyed internally by a *key*: the well-known name for default folders (``inbox``), an opaque key for
custom ones. Graph addresses a folder by its ``id`` or, for default folders only, by its well-known name; custom
folders have no name Graph would accept in a URL, so :meth:`FolderTree.resolve` takes their id only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROOT = "msgfolderroot"
# Outlook's default folders directly under the root, in the order a new mailbox lists them. Every one of them
# exists in every mailbox; the sync must find those it skips by well-known name, not by display name (localised).
DEFAULT_FOLDERS: dict[str, str] = {
    "archive": "Archive", "conversationhistory": "Conversation History", "deleteditems": "Deleted Items",
    "drafts": "Drafts", "inbox": "Inbox", "junkemail": "Junk Email", "outbox": "Outbox",
    "sentitems": "Sent Items",
}
WELL_KNOWN = frozenset({ROOT, *DEFAULT_FOLDERS})


@dataclass
class Folder:
    """One mail folder. ``parent`` is the parent's key (None for the root)."""

    key: str
    id: str
    display_name: str
    parent: str | None
    search: bool = False  # a mailSearchFolder: a saved query over other folders, holding no messages itself


@dataclass
class FolderTree:
    """The folders of one mailbox, by key."""

    folders: dict[str, Folder] = field(default_factory=dict)

    def children(self, key: str) -> list[Folder]:
        """The folders directly under ``key``, in creation order."""
        return [f for f in self.folders.values() if f.parent == key]

    def resolve(self, ref: str) -> str | None:
        """The key of the folder ``ref`` names: a well-known name (any case) or a folder id."""
        lowered = ref.lower()
        if lowered in WELL_KNOWN and lowered in self.folders:
            return lowered
        for folder in self.folders.values():
            if folder.id == ref:
                return folder.key
        return None

    def subtree(self, key: str) -> list[str]:
        """``key`` and every folder below it."""
        out = [key]
        for child in self.children(key):
            out.extend(self.subtree(child.key))
        return out

    def ancestors(self, key: str) -> list[str]:
        """The keys above ``key``, nearest first (the root last)."""
        out: list[str] = []
        parent = self.folders[key].parent
        while parent is not None:
            out.append(parent)
            parent = self.folders[parent].parent
        return out
