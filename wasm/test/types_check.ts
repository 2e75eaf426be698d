// types_check.ts — compiled (not run) by `tsc --strict` in ctest when tsc is installed: the
// declarations in types/index.d.ts describe what a portal front end writes.
import {
  createPortal, isError, newReturnId, backoffDelay, type Preview, type Validation, type Policy, type WhatIf,
  type Verdict, type RawPortal, type Review, type Status,
} from '../types/index';

async function main() {
  const portal = await createPortal({ name: 'B-ACME', url: 'wss://x/v1/sync', token: 't' });
  const draft = { return_id: newReturnId(), lead_id: 'L1', reason: 'duplicate' as const };
  const p = portal.preview(draft);
  if (isError(p)) {
    const code: string = p.error.code;
    console.log(code, p.error.field);
  } else {
    const pv: Preview = p;
    console.log(pv.evaluation?.decision, pv.evaluation?.deadline, pv.evidence?.verdict, pv.validation.ok);
  }
  const v = portal.validate(draft);
  if (!isError(v)) { const ok: Validation = v; console.log(ok.errors.map((e) => e.code)); }
  const saved = await portal.saveDraft(draft);
  if (!isError(saved)) console.log(saved.seq + 1);
  const off = portal.on('result', (r) => console.log(r.applied, r.code, r.seq));
  off();
  const drafts = portal.drafts();
  if (!isError(drafts)) for (const d of drafts) console.log(d.status, d.refusal, d.draft.drafted_at);
  console.log(backoffDelay(3));
  // Operator dashboard: what-if of a policy edit, and a dry run of an op.
  const edited: Policy = {
    mode: 'rules', window_hours: 240, cap_rate: 0.3,
    rules: [{ id: 'within_48h', max_age_hours: 48, reasons: ['bad_contact', 'duplicate'], max_return_rate: 0.15 }],
  };
  const w = portal.whatIf('B-ACME', edited, 14);
  if (!isError(w)) {
    const report: WhatIf = w;
    const changed: Verdict[] = report.report.items.filter((i) => i.before !== i.after).map((i) => i.after);
    console.log(report.current_policy.window_hours, report.days, report.report.summary.auto_accept_cents, changed);
  }
  const w30 = portal.whatIf('B-ACME', edited);
  if (isError(w30)) console.log(w30.error.field);
  const c = portal.checkOp('accept_return', { return_id: 'R-1', credit_cents: 2500 });
  if (isError(c)) console.log(c.error.code === 'CREDIT_OUT_OF_RANGE', c.error.field); else console.log(c.ok);
  const rv = portal.review('R-1');
  if (isError(rv)) console.log(rv.error.code === 'FORBIDDEN' || rv.error.code === 'RETURN_NOT_FOUND');
  else {
    const review: Review = rv;
    console.log(review.at_submission, review.evaluated_at, review.evidence?.routing_alert,
                review.evaluation.decision, review.evaluation.explanation.join(' '));
  }
  const st = portal.status();
  if (!isError(st)) { const s: Status = st; console.log(new Date(s.server_now), s.clock_offset_ms + 1); }
  const raw = null as unknown as RawPortal;
  if (raw) console.log(raw.whatIf(JSON.stringify({ buyer_id: 'B-1', policy: edited }), Date.now()),
                      raw.checkOp('reject_return', '{"return_id":"R-1"}', Date.now()),
                      raw.review('R-1', Date.now()));
  await portal.close();
  // The operator's replica: saved whole as one record, opened from it at the next sign-in.
  const op = await createPortal({ name: 'operator-ops', storage: 'image', leader: false });
  op.on('storage', (e) => console.log(e.dropped, e.error.code));
  if (op.imageDropped) console.log(op.imageDropped.message);
  await op.persist();
  const bytes: Uint8Array | null = raw ? raw.image() : null;
  if (raw && bytes) {
    raw.imageBuffer(bytes.length).set(bytes);
    console.log(raw.openImage('{"client_id":"c-1"}'));
  }
  await op.close({ forget: true });
}
main();
