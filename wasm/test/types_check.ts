// types_check.ts — compiled (not run) by `tsc --strict` in ctest when tsc is installed: the
// declarations in types/index.d.ts describe what a portal front end writes.
import { createPortal, isError, newReturnId, backoffDelay, type Preview, type Validation } from '../types/index';

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
  await portal.close();
}
main();
