// Imports every domain file (each registers its types on the builder), then builds.
import { assertInterfaceType } from 'graphql';
import { builder, registerNodeTypes } from '../builder.js';
import './scalars.js';
import './errors.js';
import './enums.js';
import './workspace.js';
import './user.js';
import './api-key.js';
import './inbox.js';
import './contact.js';
import './label.js';
import './conversation.js';
import './message.js';
import './handoff.js';
import './timeline.js';
import './subscriptions.js';
import './message-mutations.js';
import './conversation-mutations.js';
import './label-mutations.js';
import './canned-response.js';
import './contact-mutations.js';
import './handoff-mutations.js';
import './survey.js';
import './stats.js';
import './admin.js';
import './webhook.js';
import './automation.js';
import './platform.js';
import './version.js';

builder.queryType({ description: 'Read the workspace: every field needs an API key.' });
builder.mutationType({ description: 'Change the workspace: every mutation needs a write scope, runs in one transaction and records its timeline events.' });

export const schema = builder.toSchema({ sortSchema: true });
registerNodeTypes(schema.getPossibleTypes(assertInterfaceType(schema.getType('Node'))).map((t) => t.name));
