// Device information: Put (the client's DevInf, stored per device), Results (the client's DevInf
// when the server asked with Get), Get (answered with Results = the server's DevInf), and the
// server's own Get when the client sent no DevInf in package 1.
import type { PutGetCmd, ResultsCmd } from '../../codec/model.js';
import { DEVINF_URIS } from '../../codec/model.js';
import { isElement, type SmlElement } from '../../codec/tree.js';
import { buildServerDevInf, parseDevInf, type DeviceInfo } from '../devinf.js';
import { applyFilter, chooseDeviceFormat, filterFor } from '../device-format.js';
import { datastoreMapping, updateDevice, type MessageContext } from '../message-context.js';
import { Status } from '../status.js';

const DEVINF_URI = /devinf1[012]$/i;

export async function onPut(ctx: MessageContext, cmd: PutGetCmd): Promise<void> {
  const ref = { msgRef: ctx.msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Put' };
  const item = cmd.items[0];
  const uri = item?.source?.locURI ?? '';
  if (DEVINF_URI.test(uri) && item && isElement(item.data as SmlElement)) {
    await storeDevInf(ctx, item.data as SmlElement);
    if (!cmd.noResp) ctx.reply.status({ ...ref, sourceRefs: [uri], data: String(Status.OK) });
  } else if (!cmd.noResp) {
    ctx.reply.status({ ...ref, sourceRefs: uri ? [uri] : [], data: String(Status.NOT_SUPPORTED) });
  }
}

export async function onResults(ctx: MessageContext, cmd: ResultsCmd): Promise<void> {
  const item = cmd.items[0];
  if (item && isElement(item.data as SmlElement) && (item.data as SmlElement).name === 'DevInf') {
    await storeDevInf(ctx, item.data as SmlElement);
  }
  if (!cmd.noResp) ctx.reply.status({ msgRef: ctx.msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Results', data: String(Status.OK) });
}

export async function onGet(ctx: MessageContext, cmd: PutGetCmd): Promise<void> {
  const { msg, reply, session } = ctx;
  const ref = { msgRef: msg.header.msgId, cmdRef: cmd.cmdId, cmd: 'Get' };
  const uri = cmd.items[0]?.target?.locURI ?? '';
  if (!DEVINF_URI.test(uri)) {
    reply.status({ ...ref, targetRefs: uri ? [uri] : [], data: String(Status.NOT_FOUND) });
    return;
  }
  reply.status({ ...ref, targetRefs: [uri], data: String(Status.OK) });
  const devInf = buildServerDevInf({
    version: session.version, serverId: msg.header.target.locURI, softwareVersion: ctx.deps.settings.softwareVersion,
    datastores: ctx.mapping.datastores.filter((d) => ctx.deps.translators[d.kind]),
  });
  reply.add({
    kind: 'Results', cmdId: reply.nextCmdId(), msgRef: msg.header.msgId, cmdRef: cmd.cmdId,
    meta: { type: devInfType(ctx) },
    items: [{ source: { locURI: DEVINF_URIS[session.version] }, data: devInf }],
  });
}

/** The server asks for the client's DevInf (it sent none in package 1). */
export function askDevInf(ctx: MessageContext): void {
  const { reply, session } = ctx;
  session.askedDevInf = true;
  reply.add({
    kind: 'Get', cmdId: reply.nextCmdId(),
    meta: { type: devInfType(ctx) },
    items: [{ target: { locURI: DEVINF_URIS[session.version] } }],
  });
}

function devInfType(ctx: MessageContext): string {
  return ctx.session.wire.encoding === 'wbxml' ? 'application/vnd.syncml-devinf+wbxml' : 'application/vnd.syncml-devinf+xml';
}

async function storeDevInf(ctx: MessageContext, devInf: SmlElement): Promise<void> {
  const info: DeviceInfo = parseDevInf(devInf);
  ctx.session.deviceInfo = info;
  await updateDevice(ctx, ctx.session.account!, (r) => ({ ...r, devInf: info }));
  ctx.log.info({ man: info.man, mod: info.mod, datastores: info.datastores.map((d) => d.sourceRef) }, 'device information stored');
  // Formats chosen before the DevInf arrived (Put after Alert) are corrected here.
  for (const ds of ctx.session.datastores) {
    const dsMap = datastoreMapping(ctx, ds.name);
    const tr = dsMap && ctx.translatorFor(dsMap);
    if (dsMap && tr) {
      ds.deviceFormat = chooseDeviceFormat(dsMap.kind, tr, info, ds.clientUri);
      applyFilter(ds, filterFor(ctx.deps.deviceProfiles ?? [], dsMap.kind, info, ds.clientUri, ds.deviceFormat));
    }
  }
}
