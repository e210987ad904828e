-- Notes get a stable key, so code finds a note by what it is, not by its English text
-- (the ready_for_ops note was matched on its body). One note of each kind per ticket.
alter table ticket_entries add column note_kind text
    check (note_kind is null or note_kind in ('ready_for_ops'));

-- Backfill: the one kind of note written so far, by the text it has always had.
update ticket_entries
set note_kind = 'ready_for_ops'
where kind = 'note'
  and body = 'Onboarding completed: the mail domain is ready for operations (ready_for_ops).';

create unique index ticket_entries_by_note_kind on ticket_entries (ticket_id, note_kind)
where note_kind is not null;
