-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "EventType" ADD VALUE 'CONVERSATION_READ';

ALTER TYPE "EventType" ADD VALUE 'SATISFACTION_RECORDED';

ALTER TYPE "EventType" ADD VALUE 'LABEL_CREATED';

ALTER TYPE "EventType" ADD VALUE 'LABEL_UPDATED';

ALTER TYPE "EventType" ADD VALUE 'LABEL_DELETED';

ALTER TYPE "EventType" ADD VALUE 'CONTACT_CREATED';

ALTER TYPE "EventType" ADD VALUE 'CONTACT_UPDATED';
