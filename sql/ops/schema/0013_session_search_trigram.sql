-- The Desk's search by any part of a domain or contact (vm122_ops/tickets/search.py):
-- an FTS5 index with the trigram tokenizer (https://www.sqlite.org/fts5.html#the_trigram_tokenizer,
-- SQLite 3.34+), so a substring of three characters or more is a lookup of its trigrams,
-- not a scan of sessions. Each session's searchable text is one document: its domain's
-- Unicode and ASCII keys (migration 0008) and its contact (0009), lower case.
-- session_search_docs holds the documents (an integer key for the index's rowid, since
-- onboard_sessions has none); session_search is an external-content index on it, kept by
-- the triggers below as the FTS5 documentation shows ("external content tables").
create table session_search_docs (
    id integer primary key,
    session_id text not null unique,
    terms text not null
);

create virtual table session_search using fts5 (
    terms,
    content = 'session_search_docs',
    content_rowid = 'id',
    tokenize = 'trigram'
);

create trigger session_search_docs_insert after insert on session_search_docs
begin
    insert into session_search (rowid, terms) values (new.id, new.terms);
end;

create trigger session_search_docs_delete after delete on session_search_docs
begin
    insert into session_search (session_search, rowid, terms)
    values ('delete', old.id, old.terms);
end;

create trigger session_search_docs_update after update of terms on session_search_docs
begin
    insert into session_search (session_search, rowid, terms)
    values ('delete', old.id, old.terms);
    insert into session_search (rowid, terms) values (new.id, new.terms);
end;

-- A session's document follows its keys and contact, however they are written.
create trigger session_search_on_insert after insert on onboard_sessions
begin
    insert into session_search_docs (session_id, terms)
    values (new.session_id, trim(coalesce(new.domain_key, lower(new.domain)) || ' '
        || coalesce(new.domain_ascii, '') || ' ' || lower(coalesce(new.contact, ''))))
    on conflict (session_id) do update set terms = excluded.terms;
end;

-- (Ingest's upsert names every column on each event: the WHEN keeps the work to changes.)
create trigger session_search_on_update after update of domain, domain_key, domain_ascii, contact
on onboard_sessions
when old.domain is not new.domain
    or old.domain_key is not new.domain_key
    or old.domain_ascii is not new.domain_ascii
    or old.contact is not new.contact
begin
    insert into session_search_docs (session_id, terms)
    values (new.session_id, trim(coalesce(new.domain_key, lower(new.domain)) || ' '
        || coalesce(new.domain_ascii, '') || ' ' || lower(coalesce(new.contact, ''))))
    on conflict (session_id) do update set terms = excluded.terms;
end;

create trigger session_search_on_delete after delete on onboard_sessions
begin
    delete from session_search_docs where session_id = old.session_id;
end;

insert into session_search_docs (session_id, terms)
select session_id,
       trim(coalesce(domain_key, lower(domain)) || ' ' || coalesce(domain_ascii, '') || ' '
           || lower(coalesce(contact, '')))
from onboard_sessions
order by first_event_at, session_id;
