// index.d.ts — types of @lead-returns/portal (docs/wasm.md). Every call answers either its
// result or an ErrorResult; nothing throws across the wasm boundary. Row shapes are the core
// codecs of docs/domain.md "JSON shapes"; error codes are docs/errors.md.

// --- Scalars ------------------------------------------------------------------------------------

/** UTC milliseconds since the epoch. */
export type Millis = number;
/** Integer cents. */
export type Cents = number;
/** 1–64 characters of [A-Za-z0-9._:-]. */
export type Id = string;

export type Reason =
  | 'bad_contact' | 'wrong_vertical' | 'duplicate' | 'tcpa_risk' | 'out_of_service_area' | 'other';
export type ReturnState = 'draft' | 'pending' | 'discussion' | 'accepted' | 'rejected' | 'withdrawn';
export type Role = 'buyer' | 'operator';
export type OpName =
  | 'save_draft' | 'discard_draft' | 'submit_return' | 'withdraw_return' | 'post_message'
  | 'accept_return' | 'reject_return' | 'reopen_return' | 'set_policy';

export type ErrorCode =
  | 'BAD_JSON' | 'BAD_CSV' | 'BAD_TYPE' | 'MISSING_FIELD' | 'UNKNOWN_FIELD' | 'INVALID_ID' | 'INVALID_ENUM'
  | 'INVALID_REASON' | 'INVALID_AMOUNT' | 'INVALID_TIME' | 'INVALID_TEXT' | 'TEXT_TOO_LONG'
  | 'INVALID_POLICY' | 'LEAD_NOT_FOUND' | 'RETURN_NOT_FOUND' | 'BUYER_NOT_FOUND'
  | 'SUPPLIER_NOT_FOUND' | 'CAMPAIGN_NOT_FOUND' | 'NOT_YOUR_LEAD' | 'ALREADY_RETURNED'
  | 'RETURN_OPEN' | 'WINDOW_CLOSED' | 'TOO_EARLY' | 'REASON_REQUIRED' | 'NOTE_REQUIRED'
  | 'BAD_TRANSITION' | 'CREDIT_OUT_OF_RANGE' | 'FORBIDDEN' | 'DUPLICATE_ID' | 'LEAD_CONFLICT'
  | 'UNAUTHORIZED' | 'TOKEN_EXPIRED' | 'HELLO_REQUIRED' | 'UNSUPPORTED_PROTO' | 'UNKNOWN_OP'
  | 'SEQ_GAP' | 'RATE_LIMITED' | 'FRAME_TOO_LARGE' | 'INTERNAL';

/** A typed error: `field` names the offending input field ('' when not about one). */
export interface ErrorBody { code: ErrorCode; field: string; message: string; }
export interface ErrorResult { error: ErrorBody; }
/** Every call answers T or an ErrorResult. */
export type Answer<T> = T | ErrorResult;
export declare function isError(x: unknown): x is ErrorResult;

// --- Inputs -------------------------------------------------------------------------------------

export interface Actor { role: Role; subject: string; buyer_id?: Id; }

/** A draft as the buyer types it. `note` is required (10–2000 chars) for `other`. */
export interface DraftInput { return_id: Id; lead_id: Id; reason?: Reason; note?: string; }

// --- Validation and preview (core/validation.h) -------------------------------------------------

export interface FieldIssue { field: 'lead_id' | 'reason' | 'note' | 'return_id' | ''; code: ErrorCode; message: string; }
export interface Warning { code: 'evidence_contradicts' | 'window_closing' | 'manual_review' | string; message: string; }
export interface Validation { ok: boolean; errors: FieldIssue[]; warnings: Warning[]; }

export interface Evidence {
  reason: Reason;
  verdict: 'supports' | 'warns' | 'cannot_verify' | 'none';
  code: string;
  sentence: string;
  routing_alert: boolean;
}
export interface PolicyCheck { check: string; passed: boolean; sentence: string; }
export interface PolicyEvaluation {
  decision: 'auto_accept' | 'manual_review' | 'refused';
  rule: string;
  refusal?: 'WINDOW_CLOSED' | 'TOO_EARLY';
  /** delivered_at + window: submissions at or after it are refused. */
  deadline: Millis;
  checks: PolicyCheck[];
  /** One human sentence per check, in evaluation order. */
  explanation: string[];
}
export interface Preview {
  validation: Validation;
  /** When the lead and the reason are known. */
  evidence?: Evidence;
  /** When the lead is known. */
  evaluation?: PolicyEvaluation;
  /** What the evaluation read (docs/decision-facts.md), when the lead is known. */
  facts?: DecisionFacts;
  /** Fingerprint of `facts`; the server's decision carries the one it read. */
  facts_digest?: string;
}

/** Everything a decision reads besides the lead, the reason and the clock. */
export interface DecisionFacts {
  buyer_id: Id;
  lead_id: Id;
  /** The buyer's leads sold (accepted at delivery) and returned over the trailing 30 UTC days. */
  trailing_30d: { returned: number; accepted: number };
  /** Auto-accepts today per rule that has a daily limit. */
  auto_accepted_today: Record<Id, number>;
  /** Another lead with this contact was delivered to the buyer before this one. */
  earlier_delivery: boolean;
  policy: Policy;
}

/** How the server decided an applied submit (carried by its result). */
export interface SubmitDecision {
  outcome: 'auto_accept' | 'manual_review';
  rule: string;
  credit_cents: Cents;
  evidence?: { verdict: Evidence['verdict']; code: string };
  facts: DecisionFacts;
  facts_digest: string;
}

/** The core's fixed rules, as constants() gives them. */
export interface Constants {
  ok: true;
  reasons: Reason[];
  return_states: ReturnState[];
  /** Under review: pending, discussion. */
  open_states: ReturnState[];
  /** A return in these states blocks a new return of its lead. */
  blocking_states: ReturnState[];
  note: { max_chars: number; other_min_chars: number };
  message: { max_chars: number };
  id: { max_chars: number };
  default_policy: Policy;
  trailing_rate_days: number;
  /** Return-rate bands of the reports: healthy < watch_from ≤ watch ≤ alarm_above < alarm. */
  rate_bands: { watch_from: number; alarm_above: number };
}

/** Why a decision differs from the preview: one sentence per fact that changed in between. */
export interface DecisionExplanation { ok: true; same_facts: boolean; facts_digest: string; sentences: string[]; }

/**
 * A return as its reviewer sees it (operator dashboard, or the owning buyer): the reason evidence
 * the buyer's preview showed and the buyer's current policy evaluated at the return's submission
 * (`at_submission`), or at the estimated server clock for a draft.
 */
export interface Review {
  ok: true;
  return_id: Id;
  /** submitted_at for a submitted return, else the estimated server clock now. */
  evaluated_at: Millis;
  at_submission: boolean;
  /** When the return has a reason and the lead's campaign is known. */
  evidence?: Evidence;
  evaluation: PolicyEvaluation;
}

// --- Policies and what-if (core/policy.h, docs/domain.md "Policy") ------------------------------

export type PolicyMode = 'always_accept' | 'manual' | 'rules';
export type Verdict = 'auto_accept' | 'manual_review' | 'refused';
/** An auto-accept rule: every limit that is set must hold. Rates are fractions 0–1 (≤ 4 decimals). */
export interface PolicyRule {
  id: Id;
  max_age_hours?: number;
  reasons?: Reason[];
  max_price_cents?: Cents;
  max_return_rate?: number;
  max_auto_per_day?: number;
}
export interface Policy {
  mode: PolicyMode;
  /** 1–8760. */
  window_hours: number;
  min_age_hours?: number;
  rules?: PolicyRule[];
  cap_rate?: number;
}
/** One past return: how it was decided then (`before`) and under the policy asked about (`after`). */
export interface WhatIfItem { return_id: Id; before: Verdict; after: Verdict; rule: string; }
export interface WhatIfSummary {
  total: number;
  auto_accept: number;
  manual_review: number;
  refused: number;
  /** Items whose `after` differs from `before`. */
  changed: number;
  /** Price of the leads the policy would auto-accept. */
  auto_accept_cents: Cents;
}
export interface WhatIfReport { items: WhatIfItem[]; summary: WhatIfSummary; }
export interface WhatIf {
  ok: true;
  buyer_id: Id;
  /** The period: returns decided on this many UTC days ending with the server's today. */
  days: number;
  /** The buyer's policy now (before), to show beside the edited one (after). */
  current_policy: Policy;
  report: WhatIfReport;
}

// --- Rows (docs/domain.md "JSON shapes"; buyers never see supplier ids or costs) -----------------

export interface Lead {
  id: Id; buyer_id: Id; campaign_id: Id; vertical: string; state: string; zip?: string;
  contact_hash: string; tcpa_flag?: boolean; price_cents: Cents; delivered_at: Millis;
  status: 'ACCEPTED' | 'RETURNED';
  supplier_id?: Id; cost_cents?: Cents;  // operators only
}
export interface Decision {
  by: string; at: Millis; note?: string; credit_cents: Cents; charged_back?: boolean;
  chargeback_cents?: Cents;
}
export interface ReturnRow {
  id: Id; lead_id: Id; buyer_id: Id; reason?: Reason; note?: string; state: ReturnState;
  drafted_at?: Millis; submitted_at?: Millis; updated_at?: Millis; decision?: Decision;
  refusal?: ErrorCode; refusal_message?: string; accept_count?: number;
}
export interface MessageRow { id: Id; return_id: Id; author_role: Role; author: string; body: string; at: Millis; }
export type Entity = 'buyer' | 'supplier' | 'campaign' | 'lead' | 'return' | 'message' | 'ledger' | 'alert';
/** Any row; see docs/domain.md for the entities not spelled out here. */
export type Row = Lead | ReturnRow | MessageRow | Record<string, unknown>;

// --- Drafts, outbox, sync -----------------------------------------------------------------------

export interface DraftRecord {
  return_id: Id;
  draft: DraftInput & { drafted_at: Millis };
  /** saved: a save_draft op carries it; submitting: a submit is in the outbox; refused: see refusal. */
  status: 'saved' | 'submitting' | 'refused';
  refusal?: ErrorCode;
  refusal_message?: string;
  seq: number;
  updated_at: Millis;
}
export interface OutboxEntry { seq: number; op: OpName; args: Record<string, unknown>; client_time: Millis; }
export interface PendingOp {
  seq: number; op: OpName; args: Record<string, unknown>; answered: boolean;
  /** The core refuses it on the local state (a prediction; the server decides). */
  predicted_refusal?: ErrorBody;
}
export interface Principal { role: Role; subject: string; buyer_id?: Id; }
export interface Status {
  ok: true;
  phase: 'disconnected' | 'hello_sent' | 'catching_up' | 'live' | 'stopped';
  client_id: Id;
  cursor: number;
  next_seq: number;
  outbox: number;
  rows: number;
  principal?: Principal;
  actor?: Actor;
  /** The engine's estimate of the server clock: local now + clock_offset_ms. */
  server_now: Millis;
  /** Server clock − local clock, from the last welcome (refined by pong); 0 before any. */
  clock_offset_ms: number;
}
export interface Ok { ok: true; }
export interface SeqResult { ok: true; seq: number; }

/** Notices from the engine, delivered as events. */
export interface ResultNotice {
  kind: 'op_result'; seq: number; op: OpName; return_id?: Id; applied: boolean;
  code: ErrorCode | null; message: string; version: number;
  /** An applied submit_return: how the server decided it, on which facts. */
  decision?: SubmitDecision;
}
export interface ErrorNotice { kind: 'error'; code: ErrorCode | null; message: string; fatal: boolean; local?: boolean; }
export interface AlertNotice { kind: 'alert'; alert: Record<string, unknown>; }
export interface ResetNotice { kind: 'reset'; message?: string; }
export interface SyncedNotice { kind: 'synced'; message?: string; }
export interface PortalEvents {
  result: ResultNotice;
  error: ErrorNotice;
  alert: AlertNotice;
  reset: ResetNotice;
  synced: SyncedNotice;
  change: { source: string };
  status: { connected: boolean; stopped?: boolean; code?: number; reason?: string; wasOpen?: boolean };
  role: { role: 'leader' | 'follower' };
  /** Image storage: the stored image could not be opened; the portal started empty. */
  storage: { dropped: true; error: ErrorBody };
}

// --- The portal ---------------------------------------------------------------------------------

export interface PortalOptions {
  /** Database name, one per signed-in buyer (1–64 chars of [A-Za-z0-9._:-]). */
  name: string;
  /** ws:// or wss://…/v1/sync; without it the portal is offline until connect(). */
  url?: string;
  token?: string;
  /** Who validates and previews before the server's first welcome names the principal. */
  actor?: Actor;
  /** Stable per browser profile; default: generated once and stored beside the database. */
  clientId?: Id;
  /** 'image': a memory replica saved whole as one record (IndexedDB by default) and reopened
   *  from it at the next start; for one tab (leader: false). */
  storage?: 'auto' | 'idbfs' | 'nodefs' | 'memory' | 'image';
  /** Where storage 'image' keeps its records (default: IndexedDB). */
  images?: ImageRecords;
  /** Directory on disk for storage 'nodefs' (Node). */
  nodeRoot?: string;
  /** Folder inside the module's filesystem (default '/lead-returns'). */
  dir?: string;
  /** false: always lead (one tab, tests). Default: Web Locks when present. */
  leader?: false | 'auto';
  locks?: unknown;
  BroadcastChannel?: unknown;
  now?: () => Millis;
  WebSocket?: unknown;
  window?: EventTarget;
  document?: EventTarget & { visibilityState?: string };
  random?: () => number;
  wasmBinary?: ArrayBuffer | Uint8Array;
  locateFile?: (path: string, prefix: string) => string;
  /** An instance from loadModule() to share between portals. */
  module?: ReturnsModule;
}

/** A replica image as storage 'image' saves it. */
export interface ImageRecord { clientId: Id; bytes: Uint8Array; savedAt: Millis }
export interface ImageRecords {
  load(key: string): Promise<ImageRecord | null>;
  save(key: string, record: ImageRecord): Promise<void>;
  remove(key: string): Promise<void>;
}

export declare class ReturnsPortal {
  readonly role: 'leader' | 'follower';
  readonly clientId: Id;
  /** Image storage: why the stored image could not be opened (the portal started empty). */
  readonly imageDropped: ErrorBody | null;
  constructor(options: PortalOptions);

  /** Instant: from the local replica, on the estimated server clock. */
  validate(draft: DraftInput | string): Answer<Validation>;
  preview(draft: DraftInput | string): Answer<Preview>;
  setActor(actor: Actor): Answer<Ok & { actor: Actor }>;
  status(): Answer<Status>;

  drafts(): Answer<DraftRecord[]>;
  outbox(): Answer<OutboxEntry[]>;
  pending(): Answer<PendingOp[]>;
  row(entity: Entity, id: Id): Answer<{ row: Row | null }>;
  rows(entity: Entity): Answer<Row[]>;
  leads(): Answer<Lead[]>;
  /** Each lead's return-window end (UTC ms; submissions at or after it are refused), from its
   *  buyer's current policy; null when the replica lacks the lead or its buyer. */
  deadlines(leadIds: Id[]): Answer<{ ok: true; deadlines: Record<Id, Millis | null> }>;
  returns(): Answer<ReturnRow[]>;
  lead(id: Id): Lead | null;
  /** Dry run of enqueue: would the core refuse this op now, on the optimistic view? Nothing is queued. */
  checkOp(op: OpName, args: Record<string, unknown>): Answer<Ok>;
  /** Operators: the buyer's returns of the last `days` (1–366, default 30) UTC days replayed under `policy`. */
  whatIf(buyerId: Id, policy: Policy, days?: number): Answer<WhatIf>;
  /** Operators (or the owning buyer): a return's reason evidence and policy evaluation. */
  review(returnId: Id): Answer<Review>;
  /** The core's fixed rules a page shows or checks against (no page keeps a copy). */
  constants(): Answer<Constants>;
  /** The ops the principal may send to a return in its current state (the core's transition table). */
  allowedOps(returnId: Id): Answer<{ ok: true; return_id: Id; state: ReturnState; open: boolean; ops: OpName[] }>;
  /** The facts that changed between a preview and the server's decision, as sentences. */
  explainDecision(previewFacts: DecisionFacts, decision: SubmitDecision): Answer<DecisionExplanation>;

  /** Resolve once the change is durable (IndexedDB synced); one replica transaction each. */
  saveDraft(draft: DraftInput): Promise<Answer<SeqResult>>;
  discardDraft(returnId: Id): Promise<Answer<SeqResult>>;
  submit(returnId: Id): Promise<Answer<SeqResult>>;
  enqueue(op: OpName, args: Record<string, unknown>): Promise<Answer<SeqResult>>;
  /** Writes rows straight into the replica (tests, benchmarks, demos without a server). */
  loadRows(world: Partial<Record<'buyers' | 'suppliers' | 'campaigns' | 'leads' | 'returns' | 'ledger' | 'messages' | 'buyer_days', Row[]>>): Promise<Answer<Ok & { rows: number }>>;

  /** A world as a server holding it ships it: the core derives lead flags and decision-facts rows. */
  loadWorld(world: Partial<Record<'buyers' | 'suppliers' | 'campaigns' | 'leads' | 'returns' | 'ledger' | 'messages', Row[]>>): Promise<Answer<Ok & { rows: number }>>;

  connect(url: string, token?: string): Answer<Ok> | Promise<unknown>;
  disconnect(): void;
  on<K extends keyof PortalEvents>(event: K, listener: (payload: PortalEvents[K]) => void): () => void;
  /** Image storage: saves the replica now (pagehide); other kinds: waits for their flush. */
  persist(): Promise<void>;
  /** forget: true (signing out) deletes a stored image instead of saving it. */
  close(options?: { forget?: boolean }): Promise<void>;
}

export declare function createPortal(options: PortalOptions): Promise<ReturnsPortal>;
/** A token's claims read by the core without its signature (the server verifies it). */
export declare function tokenClaims(token: string, module?: ReturnsModule): Promise<Answer<{ ok: true; role: Role; buyer_id?: Id; subject: string; expires_at: Millis }>>;
export declare function newReturnId(): Id;

// --- The raw module (one embind class; JSON text in and out) ------------------------------------

/** Methods take JSON text and the local clock (ms) and return JSON text of the shapes above. */
export interface RawPortal {
  open(configJson: string): string;
  /** A view of at least `capacity` bytes in the module's memory to write a frame's UTF-8 into. */
  frameBuffer(capacity: number): Uint8Array;
  /** frame() on the first `length` bytes written into frameBuffer(). */
  frameInBuffer(length: number, now: Millis): string;
  /** A view of `size` bytes in the module's memory to copy an image into before openImage(). */
  imageBuffer(size: number): Uint8Array;
  /** open() on the image copied into imageBuffer() (what image() returned); "db" is ignored. */
  openImage(configJson: string): string;
  /** The replica as a database file's bytes, or null when it cannot be read. */
  image(): Uint8Array | null;
  close(): string;
  setActor(actorJson: string): string;
  setToken(token: string): string;
  status(now: Millis): string;
  connected(now: Millis): string;
  frame(text: string, now: Millis): string;
  disconnected(): string;
  tick(now: Millis): string;
  nextWakeup(): string;
  takeOutgoing(): string;
  takeNotices(): string;
  validate(draftJson: string, now: Millis): string;
  preview(draftJson: string, now: Millis): string;
  saveDraft(draftJson: string, now: Millis): string;
  discardDraft(returnId: string, now: Millis): string;
  submit(returnId: string, now: Millis): string;
  enqueue(op: string, argsJson: string, now: Millis): string;
  checkOp(op: string, argsJson: string, now: Millis): string;
  /** requestJson: {buyer_id, policy, days?}. */
  whatIf(requestJson: string, now: Millis): string;
  review(returnId: string, now: Millis): string;
  drafts(): string;
  outbox(): string;
  pending(now: Millis): string;
  row(entity: string, id: string, now: Millis): string;
  rows(entity: string, now: Millis): string;
  deadlines(leadIdsJson: string, now: Millis): string;
  explainDecision(previewFactsJson: string, decisionJson: string): string;
  constants(): string;
  allowedOps(returnId: string, now: Millis): string;
  loadRows(worldJson: string): string;
  loadWorld(worldJson: string): string;
  delete(): void;
}
export interface ReturnsModule {
  Portal: { new (): RawPortal };
  /** The core's id rule: 1–64 characters of [A-Za-z0-9._:-]. */
  isValidId(id: string): boolean;
  tokenClaims(token: string): string;
  FS: unknown;
  IDBFS: unknown;
  NODEFS: unknown;
  HEAPU8: Uint8Array;
}
export declare function loadModule(options?: { wasmBinary?: ArrayBuffer | Uint8Array; locateFile?: (path: string, prefix: string) => string }): Promise<ReturnsModule>;

// --- Building blocks ----------------------------------------------------------------------------

export declare function backoffDelay(attempt: number, options?: { initialMs?: number; maxMs?: number; random?: () => number }): number;

export declare class SocketTransport {
  constructor(options: {
    url: string;
    handlers: { open?: () => void; frame?: (text: string) => void; closed?: (info: { code: number; reason: string; wasOpen?: boolean; stopped?: boolean }) => void };
    WebSocket?: unknown; random?: () => number; now?: () => Millis;
    setTimeout?: (fn: () => void, ms: number) => unknown; clearTimeout?: (id: unknown) => void;
    window?: EventTarget | null; document?: (EventTarget & { visibilityState?: string }) | null;
    pingEveryMs?: number; pongTimeoutMs?: number; initialMs?: number; maxMs?: number;
  });
  readonly delays: number[];
  start(): void;
  stop(): void;
  send(text: string): boolean;
  resetBackoff(): void;
  reconnectNow(why?: string): void;
}

export declare class TabLeader {
  constructor(options: { name: string; locks?: unknown; onLeader?: () => unknown });
  readonly isLeader: boolean;
  readonly leading: Promise<void>;
  start(): Promise<boolean>;
  stop(): void;
}

export declare class LeaderChannel {
  constructor(options: { name: string; BroadcastChannel?: unknown; timeoutMs?: number });
  serve(handler: (method: string, args: unknown[]) => unknown): void;
  call(method: string, args: unknown[]): Promise<unknown>;
  broadcast(event: unknown): void;
  close(): void;
}

export declare function mountStorage(module: ReturnsModule, options?: { dir?: string; kind?: 'auto' | 'idbfs' | 'nodefs' | 'memory' | 'image'; nodeRoot?: string; key?: string; images?: ImageRecords }): Promise<{ kind: string; flush(): Promise<void>; flushNow(): Promise<void> }>;
