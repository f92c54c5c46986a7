-- Written by hand: free-text search over custom-attribute values (the conversations list
-- search matches them beside subject, messages, contact and labels). Trigram GIN indexes
-- over the top-level values as text, so ILIKE '%word%' is an index lookup. Keys are left
-- out: searching "plan" should not match every row that has a plan attribute.
-- The expression must stay identical to the one in src/services/conversation-query.ts.
-- Listed in SEARCH_OBJECTS (src/db/schema-engine.ts): schema.prisma cannot express them.
-- No semicolons in comments: the PostgreSQL adapter splits scripts on them.

CREATE INDEX "conversation_attributes_trgm_idx" ON "conversation"
  USING GIN ((jsonb_path_query_array("custom_attributes", 'strict $.*')::text) gin_trgm_ops);
CREATE INDEX "contact_attributes_trgm_idx" ON "contact"
  USING GIN ((jsonb_path_query_array("custom_attributes", 'strict $.*')::text) gin_trgm_ops);
