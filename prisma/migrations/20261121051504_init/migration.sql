-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'AGENT');

-- CreateEnum
CREATE TYPE "Availability" AS ENUM ('ONLINE', 'AWAY', 'OFFLINE');

-- CreateEnum
CREATE TYPE "ApiKeyKind" AS ENUM ('TEAM', 'CONNECTOR');

-- CreateEnum
CREATE TYPE "Scope" AS ENUM ('READ_CONVERSATIONS', 'WRITE_CONVERSATIONS', 'READ_CONTACTS', 'WRITE_CONTACTS', 'ADMIN');

-- CreateEnum
CREATE TYPE "Channel" AS ENUM ('WHATSAPP', 'INSTAGRAM', 'FACEBOOK', 'SMS', 'EMAIL', 'WEB_CHAT', 'VOICE');

-- CreateEnum
CREATE TYPE "ConversationStatus" AS ENUM ('OPEN', 'PENDING', 'SNOOZED', 'RESOLVED', 'CLOSED', 'ARCHIVED');

-- CreateEnum
CREATE TYPE "Controller" AS ENUM ('AI_AGENT', 'HUMAN');

-- CreateEnum
CREATE TYPE "Priority" AS ENUM ('NONE', 'LOW', 'MEDIUM', 'HIGH', 'URGENT');

-- CreateEnum
CREATE TYPE "ResolutionReason" AS ENUM ('ISSUE_RESOLVED', 'NOT_ISSUE', 'DUPLICATE', 'SPAM');

-- CreateEnum
CREATE TYPE "ContentType" AS ENUM ('TEXT', 'IMAGE', 'AUDIO', 'VIDEO', 'DOCUMENT', 'ATTACHMENT', 'CARD');

-- CreateEnum
CREATE TYPE "SenderType" AS ENUM ('CONTACT', 'HUMAN', 'AI_AGENT', 'SYSTEM');

-- CreateEnum
CREATE TYPE "MessageStatus" AS ENUM ('RECEIVED', 'PENDING', 'SENT', 'DELIVERED', 'READ', 'FAILED');

-- CreateEnum
CREATE TYPE "ActorType" AS ENUM ('USER', 'API_KEY', 'CONTACT', 'AI_AGENT', 'SYSTEM');

-- CreateEnum
CREATE TYPE "EventType" AS ENUM ('CONVERSATION_CREATED', 'MESSAGE_ADDED', 'MESSAGE_STATUS_CHANGED', 'MESSAGE_DELETED', 'ASSIGNED', 'STATUS_CHANGED', 'LABELS_CHANGED', 'PRIORITY_CHANGED', 'CONVERSATION_UPDATED', 'HANDOFF_STARTED', 'HANDOFF_COMPLETED', 'CONVERSATION_DELETED', 'CONTACTS_MERGED', 'CONTACT_DELETED');

-- CreateTable
CREATE TABLE "workspace" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "conversation_seq" INTEGER NOT NULL DEFAULT 0,
    "event_seq" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "workspace_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "user" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'AGENT',
    "availability" "Availability" NOT NULL DEFAULT 'OFFLINE',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "user_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_key" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "kind" "ApiKeyKind" NOT NULL DEFAULT 'TEAM',
    "scopes" "Scope"[],
    "user_id" UUID,
    "last_used_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_key_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inbox" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "channel" "Channel" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "inbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "contact" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "name" TEXT,
    "email" TEXT,
    "phone" TEXT,
    "custom_attributes" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "contact_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "contact_identity" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "contact_id" UUID NOT NULL,
    "channel" "Channel" NOT NULL,
    "handle" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "contact_identity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "conversation" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "inbox_id" UUID NOT NULL,
    "contact_id" UUID NOT NULL,
    "subject" TEXT,
    "status" "ConversationStatus" NOT NULL DEFAULT 'OPEN',
    "controller" "Controller" NOT NULL DEFAULT 'AI_AGENT',
    "priority" "Priority" NOT NULL DEFAULT 'NONE',
    "assignee_id" UUID,
    "snoozed_until" TIMESTAMPTZ(3),
    "resolution_reason" "ResolutionReason",
    "resolution_note" TEXT,
    "resolved_at" TIMESTAMPTZ(3),
    "resolved_by_id" UUID,
    "satisfaction_requested" BOOLEAN NOT NULL DEFAULT false,
    "satisfaction_rating" INTEGER,
    "satisfaction_comment" TEXT,
    "satisfaction_recorded_at" TIMESTAMPTZ(3),
    "provider_thread_id" TEXT,
    "custom_attributes" JSONB NOT NULL DEFAULT '{}',
    "message_count" INTEGER NOT NULL DEFAULT 0,
    "unread_count" INTEGER NOT NULL DEFAULT 0,
    "last_message_at" TIMESTAMPTZ(3),
    "last_message_preview" TEXT,
    "last_message_id" UUID,
    "last_message_sender_type" "SenderType",
    "first_response_at" TIMESTAMPTZ(3),
    "first_human_response_at" TIMESTAMPTZ(3),
    "waiting_since" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "conversation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "inbox_id" UUID NOT NULL,
    "content" TEXT,
    "content_type" "ContentType" NOT NULL DEFAULT 'TEXT',
    "attachments" JSONB NOT NULL DEFAULT '[]',
    "card" JSONB,
    "sender_type" "SenderType" NOT NULL,
    "sender_user_id" UUID,
    "sender_contact_id" UUID,
    "private" BOOLEAN NOT NULL DEFAULT false,
    "status" "MessageStatus" NOT NULL,
    "error_reason" TEXT,
    "provider_message_id" TEXT,
    "idempotency_key" TEXT,
    "idempotency_hash" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "label" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "color" TEXT NOT NULL DEFAULT '#6e7781',
    "description" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "label_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "handoff" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ended_at" TIMESTAMPTZ(3),
    "started_by_type" "ActorType" NOT NULL,
    "started_by_user_id" UUID,
    "ended_by_type" "ActorType",
    "ended_by_user_id" UUID,
    "assignee_id" UUID,
    "reason" TEXT,
    "summary" TEXT,
    "end_note" TEXT,

    CONSTRAINT "handoff_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "event" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "type" "EventType" NOT NULL,
    "conversation_id" UUID,
    "message_id" UUID,
    "actor_type" "ActorType" NOT NULL,
    "actor_user_id" UUID,
    "actor_api_key_id" UUID,
    "actor_contact_id" UUID,
    "before" JSONB,
    "after" JSONB,
    "note" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "_ConversationToLabel" (
    "A" UUID NOT NULL,
    "B" UUID NOT NULL,

    CONSTRAINT "_ConversationToLabel_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateIndex
CREATE UNIQUE INDEX "user_workspace_id_email_key" ON "user"("workspace_id", "email");

-- CreateIndex
CREATE UNIQUE INDEX "api_key_secret_hash_key" ON "api_key"("secret_hash");

-- CreateIndex
CREATE INDEX "api_key_workspace_id_idx" ON "api_key"("workspace_id");

-- CreateIndex
CREATE INDEX "inbox_workspace_id_idx" ON "inbox"("workspace_id");

-- CreateIndex
CREATE INDEX "contact_workspace_id_created_at_idx" ON "contact"("workspace_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "contact_workspace_id_email_key" ON "contact"("workspace_id", "email");

-- CreateIndex
CREATE UNIQUE INDEX "contact_workspace_id_phone_key" ON "contact"("workspace_id", "phone");

-- CreateIndex
CREATE INDEX "contact_identity_contact_id_idx" ON "contact_identity"("contact_id");

-- CreateIndex
CREATE UNIQUE INDEX "contact_identity_workspace_id_channel_handle_key" ON "contact_identity"("workspace_id", "channel", "handle");

-- CreateIndex
CREATE UNIQUE INDEX "conversation_last_message_id_key" ON "conversation"("last_message_id");

-- CreateIndex
CREATE INDEX "conversation_workspace_id_status_last_message_at_id_idx" ON "conversation"("workspace_id", "status", "last_message_at" DESC, "id");

-- CreateIndex
CREATE INDEX "conversation_workspace_id_last_message_at_id_idx" ON "conversation"("workspace_id", "last_message_at" DESC, "id");

-- CreateIndex
CREATE INDEX "conversation_workspace_id_created_at_id_idx" ON "conversation"("workspace_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "conversation_workspace_id_assignee_id_status_idx" ON "conversation"("workspace_id", "assignee_id", "status");

-- CreateIndex
CREATE INDEX "conversation_workspace_id_inbox_id_status_idx" ON "conversation"("workspace_id", "inbox_id", "status");

-- CreateIndex
CREATE INDEX "conversation_contact_id_idx" ON "conversation"("contact_id");

-- CreateIndex
CREATE INDEX "conversation_status_snoozed_until_idx" ON "conversation"("status", "snoozed_until");

-- CreateIndex
CREATE UNIQUE INDEX "conversation_workspace_id_number_key" ON "conversation"("workspace_id", "number");

-- CreateIndex
CREATE INDEX "message_conversation_id_created_at_id_idx" ON "message"("conversation_id", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "message_inbox_id_provider_message_id_key" ON "message"("inbox_id", "provider_message_id");

-- CreateIndex
CREATE UNIQUE INDEX "message_workspace_id_idempotency_key_key" ON "message"("workspace_id", "idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "label_workspace_id_name_key" ON "label"("workspace_id", "name");

-- CreateIndex
CREATE INDEX "handoff_conversation_id_started_at_idx" ON "handoff"("conversation_id", "started_at");

-- CreateIndex
CREATE INDEX "handoff_workspace_id_started_at_idx" ON "handoff"("workspace_id", "started_at");

-- CreateIndex
CREATE INDEX "event_conversation_id_seq_idx" ON "event"("conversation_id", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "event_workspace_id_seq_key" ON "event"("workspace_id", "seq");

-- CreateIndex
CREATE INDEX "_ConversationToLabel_B_index" ON "_ConversationToLabel"("B");

-- AddForeignKey
ALTER TABLE "user" ADD CONSTRAINT "user_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_key" ADD CONSTRAINT "api_key_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_key" ADD CONSTRAINT "api_key_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inbox" ADD CONSTRAINT "inbox_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "contact" ADD CONSTRAINT "contact_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "contact_identity" ADD CONSTRAINT "contact_identity_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "contact_identity" ADD CONSTRAINT "contact_identity_contact_id_fkey" FOREIGN KEY ("contact_id") REFERENCES "contact"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation" ADD CONSTRAINT "conversation_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation" ADD CONSTRAINT "conversation_inbox_id_fkey" FOREIGN KEY ("inbox_id") REFERENCES "inbox"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation" ADD CONSTRAINT "conversation_contact_id_fkey" FOREIGN KEY ("contact_id") REFERENCES "contact"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation" ADD CONSTRAINT "conversation_assignee_id_fkey" FOREIGN KEY ("assignee_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation" ADD CONSTRAINT "conversation_resolved_by_id_fkey" FOREIGN KEY ("resolved_by_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversation" ADD CONSTRAINT "conversation_last_message_id_fkey" FOREIGN KEY ("last_message_id") REFERENCES "message"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message" ADD CONSTRAINT "message_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message" ADD CONSTRAINT "message_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message" ADD CONSTRAINT "message_inbox_id_fkey" FOREIGN KEY ("inbox_id") REFERENCES "inbox"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message" ADD CONSTRAINT "message_sender_user_id_fkey" FOREIGN KEY ("sender_user_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message" ADD CONSTRAINT "message_sender_contact_id_fkey" FOREIGN KEY ("sender_contact_id") REFERENCES "contact"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "label" ADD CONSTRAINT "label_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoff" ADD CONSTRAINT "handoff_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoff" ADD CONSTRAINT "handoff_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoff" ADD CONSTRAINT "handoff_started_by_user_id_fkey" FOREIGN KEY ("started_by_user_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoff" ADD CONSTRAINT "handoff_ended_by_user_id_fkey" FOREIGN KEY ("ended_by_user_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoff" ADD CONSTRAINT "handoff_assignee_id_fkey" FOREIGN KEY ("assignee_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "event" ADD CONSTRAINT "event_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_ConversationToLabel" ADD CONSTRAINT "_ConversationToLabel_A_fkey" FOREIGN KEY ("A") REFERENCES "conversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_ConversationToLabel" ADD CONSTRAINT "_ConversationToLabel_B_fkey" FOREIGN KEY ("B") REFERENCES "label"("id") ON DELETE CASCADE ON UPDATE CASCADE;
