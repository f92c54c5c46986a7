-- CreateEnum
CREATE TYPE "AutomationTrigger" AS ENUM ('CONVERSATION_CREATED', 'MESSAGE_RECEIVED', 'MESSAGE_SENT', 'STATUS_CHANGED', 'ASSIGNED', 'LABELS_CHANGED', 'PRIORITY_CHANGED', 'HANDOFF_STARTED', 'HANDOFF_COMPLETED');

-- CreateEnum
CREATE TYPE "AutomationRunOutcome" AS ENUM ('MATCHED', 'NOT_MATCHED', 'FAILED');

-- AlterEnum
ALTER TYPE "ActorType" ADD VALUE 'AUTOMATION';

-- AlterTable
ALTER TABLE "event" ADD COLUMN     "actor_depth" INTEGER,
ADD COLUMN     "actor_rule_id" UUID;

-- CreateTable
CREATE TABLE "automation_rule" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "position" INTEGER NOT NULL,
    "trigger" "AutomationTrigger" NOT NULL,
    "trigger_status" "ConversationStatus",
    "conditions" JSONB NOT NULL,
    "actions" JSONB NOT NULL,
    "allow_rule_events" BOOLEAN NOT NULL DEFAULT false,
    "start_seq" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "automation_rule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "automation_run" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "rule_id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "event_seq" BIGINT NOT NULL,
    "conversation_id" UUID,
    "outcome" "AutomationRunOutcome" NOT NULL,
    "reason" TEXT NOT NULL,
    "actions_applied" JSONB NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "automation_run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "automation_position" (
    "workspace_id" UUID NOT NULL,
    "last_seq" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "automation_position_pkey" PRIMARY KEY ("workspace_id")
);

-- CreateIndex
CREATE INDEX "automation_rule_workspace_id_position_idx" ON "automation_rule"("workspace_id", "position");

-- CreateIndex
CREATE INDEX "automation_run_workspace_id_conversation_id_created_at_idx" ON "automation_run"("workspace_id", "conversation_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "automation_run_rule_id_event_id_key" ON "automation_run"("rule_id", "event_id");

-- AddForeignKey
ALTER TABLE "automation_rule" ADD CONSTRAINT "automation_rule_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "automation_run" ADD CONSTRAINT "automation_run_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "automation_run" ADD CONSTRAINT "automation_run_rule_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "automation_rule"("id") ON DELETE CASCADE ON UPDATE CASCADE;
