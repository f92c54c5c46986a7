-- Written by hand: full-text and fuzzy search, which schema.prisma cannot express.
-- The drift test and `npm run migrate:new` leave these objects out by name
-- (SEARCH_OBJECTS in src/db/schema-engine.ts), and test/search-indexes.test.ts checks them.
-- No semicolons in comments: the PostgreSQL adapter splits scripts on them.
-- The 'simple' configuration does no stemming: customers write in every language.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE "conversation"
  ADD COLUMN "search_vector" tsvector
  GENERATED ALWAYS AS (to_tsvector('simple', coalesce("subject", ''))) STORED;
CREATE INDEX "conversation_search_idx" ON "conversation" USING GIN ("search_vector");

ALTER TABLE "message"
  ADD COLUMN "search_vector" tsvector
  GENERATED ALWAYS AS (to_tsvector('simple', coalesce("content", ''))) STORED;
CREATE INDEX "message_search_idx" ON "message" USING GIN ("search_vector");

CREATE INDEX "contact_name_trgm_idx" ON "contact" USING GIN ("name" gin_trgm_ops);
CREATE INDEX "contact_email_trgm_idx" ON "contact" USING GIN ("email" gin_trgm_ops);
CREATE INDEX "contact_phone_trgm_idx" ON "contact" USING GIN ("phone" gin_trgm_ops);
CREATE INDEX "label_name_trgm_idx" ON "label" USING GIN ("name" gin_trgm_ops);
