-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "AutomationTrigger" ADD VALUE 'SNOOZE_WOKE';

ALTER TYPE "AutomationTrigger" ADD VALUE 'WAITING_FOR_REPLY';

ALTER TYPE "AutomationTrigger" ADD VALUE 'OPEN_UNASSIGNED';

ALTER TYPE "AutomationTrigger" ADD VALUE 'PENDING_TOO_LONG';

-- AlterTable
ALTER TABLE "automation_rule" ADD COLUMN     "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "threshold_seconds" INTEGER;

-- AlterTable
ALTER TABLE "automation_run" ADD COLUMN     "episode_start" TIMESTAMPTZ(3),
ALTER COLUMN "event_id" DROP NOT NULL,
ALTER COLUMN "event_seq" DROP NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "automation_run_rule_id_conversation_id_episode_start_key" ON "automation_run"("rule_id", "conversation_id", "episode_start");
