-- AlterEnum
ALTER TYPE "EventType" ADD VALUE 'SURVEY_ANSWERED';

-- CreateTable
CREATE TABLE "survey" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "contact_id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "resolved_at" TIMESTAMPTZ(3) NOT NULL,
    "assignee_id" UUID,
    "ai_resolved_alone" BOOLEAN NOT NULL,
    "message_id" UUID,
    "sent_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "rating" INTEGER,
    "comment" TEXT,
    "answered_at" TIMESTAMPTZ(3),

    CONSTRAINT "survey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "survey_token_hash_key" ON "survey"("token_hash");

-- CreateIndex
CREATE UNIQUE INDEX "survey_message_id_key" ON "survey"("message_id");

-- CreateIndex
CREATE INDEX "survey_workspace_id_sent_at_idx" ON "survey"("workspace_id", "sent_at");

-- CreateIndex
CREATE INDEX "survey_contact_id_idx" ON "survey"("contact_id");

-- CreateIndex
CREATE UNIQUE INDEX "survey_conversation_id_resolved_at_key" ON "survey"("conversation_id", "resolved_at");

-- AddForeignKey
ALTER TABLE "survey" ADD CONSTRAINT "survey_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "survey" ADD CONSTRAINT "survey_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "survey" ADD CONSTRAINT "survey_contact_id_fkey" FOREIGN KEY ("contact_id") REFERENCES "contact"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "survey" ADD CONSTRAINT "survey_assignee_id_fkey" FOREIGN KEY ("assignee_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "survey" ADD CONSTRAINT "survey_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "message"("id") ON DELETE SET NULL ON UPDATE CASCADE;
