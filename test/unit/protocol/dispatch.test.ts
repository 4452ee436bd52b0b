// The dispatch table runs a message's commands in the order the message gives them; a command
// without a handler gets 406 (unless NoResp).
import assert from 'node:assert/strict';
import type { Command } from '../../../src/codec/model.js';
import { COMMAND_HANDLERS, runCommands, type CommandHandlers } from '../../../src/protocol/dispatch.js';
import { context, datastore, fakeSync, session } from './support.js';

describe('protocol/dispatch', function () {
  it('has a handler for each command the server answers itself', function () {
    assert.deepEqual(Object.keys(COMMAND_HANDLERS).sort(), ['Alert', 'Get', 'Map', 'Put', 'Results', 'Status', 'Sync']);
  });

  it('runs commands one after another in message order, each finished before the next starts', async function () {
    const seen: string[] = [];
    const slow = (name: string, ms: number) => async (_ctx: unknown, cmd: Command): Promise<void> => {
      seen.push(`start ${name} ${cmd.cmdId}`);
      await new Promise((r) => setTimeout(r, ms));
      seen.push(`end ${name} ${cmd.cmdId}`);
    };
    const handlers: CommandHandlers = { Status: slow('Status', 5), Alert: slow('Alert', 1), Sync: slow('Sync', 3) };
    const body: Command[] = [
      { kind: 'Status', cmdId: '1', msgRef: '1', cmdRef: '0', cmd: 'SyncHdr', targetRefs: [], sourceRefs: [], items: [], data: '200' },
      { kind: 'Sync', cmdId: '2', commands: [] },
      { kind: 'Alert', cmdId: '3', data: '222', items: [] },
    ];
    const ctx = context(session([datastore()]), fakeSync({}), 10_000);
    await runCommands(ctx, body, handlers);
    assert.deepEqual(seen, ['start Status 1', 'end Status 1', 'start Sync 2', 'end Sync 2', 'start Alert 3', 'end Alert 3']);
  });

  it('answers a command without a handler with 406, in order, and nothing for NoResp', async function () {
    const ctx = context(session([datastore()]), fakeSync({}), 10_000);
    const body: Command[] = [
      { kind: 'Atomic', cmdId: '4', commands: [] },
      { kind: 'Other', name: 'Exec', cmdId: '5', raw: { name: 'Exec', children: [] } },
      { kind: 'Sequence', cmdId: '6', commands: [], noResp: true },
    ];
    await runCommands(ctx, body, {});
    const statuses = ctx.reply.build(ctx.msg.header, '1.2').body.filter((c) => c.kind === 'Status');
    assert.deepEqual(statuses.map((s) => s.kind === 'Status' && [s.cmdRef, s.cmd, s.data]), [['4', 'Atomic', '406'], ['5', 'Exec', '406']]);
  });
});
