-- Hand-written: the schema cannot describe partial indexes, and SEARCH_OBJECTS in
-- src/db/schema-engine.ts names these so that diffs leave them alone.
-- The sender's claim reads, per endpoint, the first due deliveries in timeline order and the
-- number it has in flight. Over every delivery kept (30 days of them) that is a scan per claim,
-- over the pending ones only an index range of a few rows.

-- CreateIndex
CREATE INDEX "webhook_delivery_pending_order_idx" ON "webhook_delivery"("endpoint_id", "event_seq" NULLS FIRST, "created_at", "id") WHERE "state" = 'PENDING';

-- CreateIndex
CREATE INDEX "webhook_delivery_leased_idx" ON "webhook_delivery"("endpoint_id") WHERE "state" = 'PENDING' AND "lease_until" IS NOT NULL;
