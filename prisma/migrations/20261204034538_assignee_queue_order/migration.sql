-- DropIndex
DROP INDEX "conversation_workspace_id_assignee_id_status_idx";

-- CreateIndex
CREATE INDEX "conversation_workspace_id_assignee_id_status_last_activity__idx" ON "conversation"("workspace_id", "assignee_id", "status", "last_activity_at" DESC, "id");
