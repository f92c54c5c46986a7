-- CreateTable
CREATE TABLE "canned_response" (
    "id" UUID NOT NULL,
    "workspace_id" UUID NOT NULL,
    "short_code" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "canned_response_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "_CannedResponseToInbox" (
    "A" UUID NOT NULL,
    "B" UUID NOT NULL,

    CONSTRAINT "_CannedResponseToInbox_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateIndex
CREATE UNIQUE INDEX "canned_response_workspace_id_short_code_key" ON "canned_response"("workspace_id", "short_code");

-- CreateIndex
CREATE INDEX "_CannedResponseToInbox_B_index" ON "_CannedResponseToInbox"("B");

-- AddForeignKey
ALTER TABLE "canned_response" ADD CONSTRAINT "canned_response_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspace"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_CannedResponseToInbox" ADD CONSTRAINT "_CannedResponseToInbox_A_fkey" FOREIGN KEY ("A") REFERENCES "canned_response"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_CannedResponseToInbox" ADD CONSTRAINT "_CannedResponseToInbox_B_fkey" FOREIGN KEY ("B") REFERENCES "inbox"("id") ON DELETE CASCADE ON UPDATE CASCADE;
