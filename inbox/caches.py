"""This process's caches, held in one object that the bootstrap makes (`Deps.caches`).

None is shared between processes: each is correct on its own and only saves reads (see each
class for how it stays correct when another process writes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inbox.channels.cache import ChannelCache
from inbox.channels.journal import JournalWriter, journal_writer
from inbox.conversations.ticket_counts import TicketCounts
from inbox.conversations.ticket_list import ListWindows
from inbox.crm.identities import IdentityOwners


@dataclass
class Caches:
    # Channels as webhook intake sees them, for a few seconds.
    channels: ChannelCache = field(default_factory=ChannelCache)
    # Webhook journal inserts of concurrent requests, committed together (group commit).
    journal: JournalWriter = field(default_factory=journal_writer)
    # identity key -> customer id.
    identity_owners: IdentityOwners = field(default_factory=IdentityOwners)
    # The inbox list's counts per filter, and the activity window each filter settled on.
    ticket_counts: TicketCounts = field(default_factory=TicketCounts)
    list_windows: ListWindows = field(default_factory=ListWindows)
    # Sources of messages this worker stored but has not announced yet (message.created):
    # a retry of the same record after a failure in between announces them; any other
    # re-run of a stored message publishes nothing, so clients never see a message twice.
    unannounced: set[str] = field(default_factory=set)
