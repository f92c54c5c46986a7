-- The workspace's counters move to a row of their own (see WorkspaceCounter in
-- prisma/schema.prisma): the timeline's last step takes that row to the commit, and the foreign
-- keys that reference the workspace row (a KEY SHARE lock from every message insert) no longer
-- meet it there. A workspace's row is made by its first numbering step (an upsert), so every
-- way of making a workspace (the API, the CLI, seeds) gets one.

-- CreateTable
CREATE TABLE "workspace_counter" (
    "workspace_id" UUID NOT NULL,
    "conversation_seq" INTEGER NOT NULL DEFAULT 0,
    "event_seq" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "workspace_counter_pkey" PRIMARY KEY ("workspace_id")
);

-- AddForeignKey
ALTER TABLE "workspace_counter" ADD CONSTRAINT "workspace_counter_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The counters as they are now.
INSERT INTO "workspace_counter" ("workspace_id", "conversation_seq", "event_seq")
SELECT "id", "conversation_seq", "event_seq" FROM "workspace";

-- AlterTable
ALTER TABLE "workspace" DROP COLUMN "conversation_seq",
DROP COLUMN "event_seq";
