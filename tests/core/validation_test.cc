// validation_test.cc — what the Client Portal shows while a buyer drafts a return
// (docs/domain.md "Draft validation and preview"): field errors with the codes submit would
// refuse with, non-blocking warnings, note and text checks counted in code points, the preview
// (evidence + evaluation + deadline), and the promise that validation and submit agree: a draft
// that validates clean is not refused by submit_return on the same state and clock, and a draft
// with errors is refused with the first error's code.
#include "core/validation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/memory_state.h"

namespace returns {
namespace {

constexpr Millis kH = kMillisPerHour;
constexpr Millis kT0 = 1'700'000'000'000;  // every lead below is delivered then
constexpr Millis kNow = kT0 + 5 * kH;

std::string repeat(std::size_t n, const std::string& unit) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += unit;
  return out;
}

const std::string kE = "\xc3\xa9";         // é, two bytes
const std::string kEuro = "\xe2\x82\xac";  // €, three bytes
const std::string kEmoji = "\xf0\x9f\x98\x80";

Lead lead(std::string id, std::string buyer, std::string campaign) {
  Lead l;
  l.id = std::move(id);
  l.buyer_id = std::move(buyer);
  l.supplier_id = "s1";
  l.campaign_id = std::move(campaign);
  l.vertical = "mva";
  l.state = "CA";
  l.zip = "90012";
  l.contact_hash = "hash-" + l.id;
  l.price_cents = 5000;
  l.cost_cents = 2000;
  l.delivered_at = kT0;
  return l;
}

ReturnCase existing(std::string id, std::string lead_id, std::string buyer, ReturnState st) {
  ReturnCase r;
  r.id = std::move(id);
  r.lead_id = std::move(lead_id);
  r.buyer_id = std::move(buyer);
  r.reason = Reason::bad_contact;
  r.state = st;
  r.drafted_at = kT0 + kH;
  if (st != ReturnState::draft) r.submitted_at = kT0 + kH;
  r.updated_at = kT0 + kH;
  if (st == ReturnState::accepted || st == ReturnState::rejected) {
    r.decision = Decision{"ops",     kT0 + 2 * kH,
                          "decided", st == ReturnState::accepted ? Money{5000} : Money{0},
                          false,     0};
    if (st == ReturnState::accepted) r.accept_count = 1;
  }
  return r;
}

// b1: default policy (168 h window, auto-accept within 24 h), b2: another buyer,
// b3: a 2 h cool-off. Leads are named for what makes them interesting.
MemoryState world() {
  MemoryState s;
  Buyer b1;
  b1.id = "b1";
  b1.name = "Acme Legal";
  Buyer b2;
  b2.id = "b2";
  b2.name = "Beta Injury";
  b2.billing = Billing::net_terms;
  Buyer b3;
  b3.id = "b3";
  b3.name = "Careful Co";
  b3.policy = default_policy();
  b3.policy.min_age_hours = 2;
  s.put(b1);
  s.put(b2);
  s.put(b3);
  s.put(Supplier{"s1", "North Leads", false});
  s.put(Campaign{"c1", "b1", "mva", 5000});
  s.put(Campaign{"c2", "b2", "mva", 5000});
  s.put(Campaign{"c3", "b3", "mva", 5000});
  s.put(lead("fresh", "b1", "c1"));
  Lead solar = lead("solar", "b1", "c1");
  solar.vertical = "solar";
  s.put(solar);
  Lead flagged = lead("flagged", "b1", "c1");
  flagged.tcpa_flag = true;
  s.put(flagged);
  Lead returned = lead("returned", "b1", "c1");
  returned.status = LeadStatus::returned;
  s.put(returned);
  s.put(existing("r-acc", "returned", "b1", ReturnState::accepted));
  s.put(lead("open", "b1", "c1"));
  s.put(existing("r-open", "open", "b1", ReturnState::pending));
  s.put(lead("disc", "b1", "c1"));
  s.put(existing("r-disc", "disc", "b1", ReturnState::discussion));
  s.put(lead("rejected_before", "b1", "c1"));
  s.put(existing("r-rej", "rejected_before", "b1", ReturnState::rejected));
  s.put(lead("withdrawn_before", "b1", "c1"));
  s.put(existing("r-wd", "withdrawn_before", "b1", ReturnState::withdrawn));
  s.put(existing("d-saved", "fresh", "b1", ReturnState::draft));
  s.put(lead("theirs", "b2", "c2"));
  s.put(existing("r-b2", "theirs", "b2", ReturnState::pending));
  s.put(lead("cool", "b3", "c3"));
  return s;
}

DraftInput draft(std::string lead_id, std::optional<Reason> reason, std::string note = "",
                 std::string return_id = "new-return") {
  return DraftInput{std::move(return_id), std::move(lead_id), reason, std::move(note)};
}

std::string codes_of(const Validation& v) {
  std::string out;
  for (const auto& e : v.errors) out += std::string(to_string(e.code)) + "(" + e.field + ") ";
  return out.empty() ? "no errors" : out;
}

bool has_error(const Validation& v, ErrorCode c) {
  return std::any_of(v.errors.begin(), v.errors.end(),
                     [c](const FieldIssue& f) { return f.code == c; });
}

bool has_warning(const Validation& v, const std::string& code) {
  return std::any_of(v.warnings.begin(), v.warnings.end(),
                     [&](const Warning& w) { return w.code == code; });
}

const Actor kBuyer1 = Actor::buyer("b1", "alice");
const Actor kBuyer3 = Actor::buyer("b3", "carol");

// ---------------------------------------------------------------------------------------------
// validate_draft: errors.

struct DraftRow {
  std::string name;
  Actor actor;
  DraftInput draft;
  Millis now;
  std::optional<ErrorCode> first;  // nullopt: validates clean
  std::string field;               // expected field of the first error, when documented
  std::vector<ErrorCode> also;     // further errors that must be reported too
};

std::vector<DraftRow> draft_rows() {
  using E = ErrorCode;
  const auto b1 = kBuyer1;
  return {
      {"clean_bad_contact", b1, draft("fresh", Reason::bad_contact), kNow, {}, "", {}},
      {"clean_with_note",
       b1,
       draft("fresh", Reason::duplicate, "Same as last week"),
       kNow,
       {},
       "",
       {}},
      {"unknown_lead",
       b1,
       draft("nope", Reason::bad_contact),
       kNow,
       E::LEAD_NOT_FOUND,
       "lead_id",
       {}},
      {"other_buyers_lead",
       b1,
       draft("theirs", Reason::bad_contact),
       kNow,
       E::NOT_YOUR_LEAD,
       "lead_id",
       {}},
      {"no_reason", b1, draft("fresh", std::nullopt), kNow, E::REASON_REQUIRED, "reason", {}},
      {"other_empty_note", b1, draft("fresh", Reason::other), kNow, E::NOTE_REQUIRED, "note", {}},
      {"other_note_9",
       b1,
       draft("fresh", Reason::other, "123456789"),
       kNow,
       E::NOTE_REQUIRED,
       "note",
       {}},
      {"other_note_10", b1, draft("fresh", Reason::other, "1234567890"), kNow, {}, "", {}},
      {"other_note_9_two_byte",
       b1,
       draft("fresh", Reason::other, repeat(9, kE)),
       kNow,
       E::NOTE_REQUIRED,
       "note",
       {}},
      {"other_note_10_two_byte",
       b1,
       draft("fresh", Reason::other, repeat(10, kE)),
       kNow,
       {},
       "",
       {}},
      {"other_note_2000_three_byte",
       b1,
       draft("fresh", Reason::other, repeat(2000, kEuro)),
       kNow,
       {},
       "",
       {}},
      {"other_note_2001",
       b1,
       draft("fresh", Reason::other, repeat(2001, "a")),
       kNow,
       E::TEXT_TOO_LONG,
       "note",
       {}},
      {"bad_contact_note_2001",
       b1,
       draft("fresh", Reason::bad_contact, repeat(2001, kE)),
       kNow,
       E::TEXT_TOO_LONG,
       "note",
       {}},
      {"bad_contact_note_2000",
       b1,
       draft("fresh", Reason::bad_contact, repeat(2000, "a")),
       kNow,
       {},
       "",
       {}},
      {"note_invalid_utf8",
       b1,
       draft("fresh", Reason::bad_contact, "bad \xff byte"),
       kNow,
       E::INVALID_TEXT,
       "note",
       {}},
      {"note_control_char",
       b1,
       draft("fresh", Reason::bad_contact, "bell \x07"),
       kNow,
       E::INVALID_TEXT,
       "note",
       {}},
      {"already_returned",
       b1,
       draft("returned", Reason::bad_contact),
       kNow,
       E::ALREADY_RETURNED,
       "",
       {}},
      {"return_open_pending", b1, draft("open", Reason::bad_contact), kNow, E::RETURN_OPEN, "", {}},
      {"return_open_discussion",
       b1,
       draft("disc", Reason::bad_contact),
       kNow,
       E::RETURN_OPEN,
       "",
       {}},
      {"after_rejected_return",
       b1,
       draft("rejected_before", Reason::bad_contact),
       kNow,
       {},
       "",
       {}},
      {"after_withdrawn_return",
       b1,
       draft("withdrawn_before", Reason::bad_contact),
       kNow,
       {},
       "",
       {}},
      {"window_closed",
       b1,
       draft("fresh", Reason::bad_contact),
       kT0 + 168 * kH,
       E::WINDOW_CLOSED,
       "",
       {}},
      {"window_last_ms", b1, draft("fresh", Reason::bad_contact), kT0 + 168 * kH - 1, {}, "", {}},
      {"too_early", kBuyer3, draft("cool", Reason::bad_contact), kT0 + kH, E::TOO_EARLY, "", {}},
      {"too_early_last_ms",
       kBuyer3,
       draft("cool", Reason::bad_contact),
       kT0 + 2 * kH - 1,
       E::TOO_EARLY,
       "",
       {}},
      {"cool_off_over", kBuyer3, draft("cool", Reason::bad_contact), kT0 + 2 * kH, {}, "", {}},
      {"delivered_in_future",
       b1,
       draft("fresh", Reason::bad_contact),
       kT0 - 1,
       E::TOO_EARLY,
       "",
       {}},
      {"existing_own_draft",
       b1,
       draft("fresh", Reason::other, "Now with a note", "d-saved"),
       kNow,
       {},
       "",
       {}},
      // Several problems: every one is reported, the first in the documented check order.
      {"no_reason_and_window_closed",
       b1,
       draft("fresh", std::nullopt),
       kT0 + 200 * kH,
       E::REASON_REQUIRED,
       "reason",
       {E::WINDOW_CLOSED}},
      {"short_note_and_return_open",
       b1,
       draft("open", Reason::other, "short"),
       kNow,
       E::NOTE_REQUIRED,
       "note",
       {E::RETURN_OPEN}},
      {"returned_and_window_closed",
       b1,
       draft("returned", Reason::bad_contact),
       kT0 + 200 * kH,
       E::ALREADY_RETURNED,
       "",
       {E::WINDOW_CLOSED}},
      {"operator_cannot_draft",
       Actor::operator_("ops"),
       draft("fresh", Reason::bad_contact),
       kNow,
       E::FORBIDDEN,
       "",
       {}},
  };
}

TEST(ValidationDraft, ErrorsTable) {
  const MemoryState state = world();
  for (const DraftRow& row : draft_rows()) {
    SCOPED_TRACE(row.name);
    Validation v = validate_draft(row.actor, row.draft, state, row.now);
    if (!row.first) {
      EXPECT_TRUE(v.ok) << row.name << ": " << codes_of(v);
      EXPECT_TRUE(v.errors.empty()) << row.name << ": " << codes_of(v);
      continue;
    }
    EXPECT_FALSE(v.ok) << row.name;
    ASSERT_FALSE(v.errors.empty()) << row.name << ": expected " << to_string(*row.first);
    EXPECT_EQ(v.errors.front().code, *row.first)
        << row.name << ": expected first " << to_string(*row.first) << ", got " << codes_of(v);
    if (!row.field.empty()) {
      EXPECT_EQ(v.errors.front().field, row.field) << row.name << ": " << codes_of(v);
    }
    for (ErrorCode c : row.also)
      EXPECT_TRUE(has_error(v, c))
          << row.name << ": missing " << to_string(c) << " in " << codes_of(v);
    for (const auto& e : v.errors) EXPECT_FALSE(e.message.empty()) << row.name;
  }
}

// ---------------------------------------------------------------------------------------------
// validate_draft: warnings (never blocking).

TEST(ValidationDraft, CleanDraftHasNoWarnings) {
  const MemoryState state = world();
  Validation v = validate_draft(kBuyer1, draft("fresh", Reason::bad_contact), state, kNow);
  EXPECT_TRUE(v.ok) << codes_of(v);
  EXPECT_TRUE(v.errors.empty());
  EXPECT_TRUE(v.warnings.empty()) << v.warnings.size() << " warnings, first: "
                                  << (v.warnings.empty() ? "" : v.warnings[0].code);
}

TEST(ValidationDraft, EvidenceContradictsTable) {
  const MemoryState state = world();
  struct Row {
    const char* name;
    const char* lead;
    Reason reason;
    bool warns;
  };
  const Row rows[] = {
      {"wrong_vertical_but_matches", "fresh", Reason::wrong_vertical, true},
      {"wrong_vertical_supported", "solar", Reason::wrong_vertical, false},
      {"tcpa_not_flagged", "fresh", Reason::tcpa_risk, true},
      {"tcpa_flagged", "flagged", Reason::tcpa_risk, false},
      {"out_of_area_but_inside", "fresh", Reason::out_of_service_area, true},
      {"duplicate_cannot_verify", "fresh", Reason::duplicate, false},
      {"bad_contact_no_check", "fresh", Reason::bad_contact, false},
  };
  for (const Row& r : rows) {
    Validation v = validate_draft(kBuyer1, draft(r.lead, r.reason), state, kNow);
    EXPECT_TRUE(v.ok) << r.name << ": warnings never block; " << codes_of(v);
    EXPECT_EQ(has_warning(v, "evidence_contradicts"), r.warns) << r.name;
    for (const auto& w : v.warnings) EXPECT_FALSE(w.message.empty()) << r.name << " " << w.code;
  }
}

TEST(ValidationDraft, WindowClosingUnderTwentyFourHoursLeft) {
  const MemoryState state = world();
  const Millis deadline = kT0 + 168 * kH;
  struct Row {
    const char* name;
    Millis now;
    bool closing;
  };
  const Row rows[] = {
      {"fresh", kNow, false},
      {"exactly_24h_left", deadline - 24 * kH, false},
      {"24h_minus_1ms_left", deadline - 24 * kH + 1, true},
      {"one_hour_left", deadline - kH, true},
      {"last_ms", deadline - 1, true},
  };
  for (const Row& r : rows) {
    Validation v = validate_draft(kBuyer1, draft("fresh", Reason::bad_contact), state, r.now);
    EXPECT_TRUE(v.ok) << r.name << ": " << codes_of(v);
    EXPECT_EQ(has_warning(v, "window_closing"), r.closing) << r.name;
  }
}

TEST(ValidationDraft, ManualReviewWarning) {
  const MemoryState state = world();
  struct Row {
    const char* name;
    Millis now;
    bool manual;
  };
  const Row rows[] = {
      {"auto_accept_at_5h", kT0 + 5 * kH, false},
      {"auto_accept_at_last_ms_of_rule", kT0 + 24 * kH - 1, false},
      {"manual_at_24h", kT0 + 24 * kH, true},
      {"manual_at_30h", kT0 + 30 * kH, true},
  };
  for (const Row& r : rows) {
    Validation v = validate_draft(kBuyer1, draft("fresh", Reason::bad_contact), state, r.now);
    EXPECT_TRUE(v.ok) << r.name << ": " << codes_of(v);
    EXPECT_EQ(has_warning(v, "manual_review"), r.manual) << r.name;
  }
}

TEST(ValidationDraft, WarningCodesAreTheDocumentedOnes) {
  const MemoryState state = world();
  // A draft that should collect all three warnings at once.
  Validation v =
      validate_draft(kBuyer1, draft("fresh", Reason::tcpa_risk), state, kT0 + 168 * kH - kH);
  EXPECT_TRUE(v.ok) << codes_of(v);
  EXPECT_TRUE(has_warning(v, "evidence_contradicts"));
  EXPECT_TRUE(has_warning(v, "window_closing"));
  EXPECT_TRUE(has_warning(v, "manual_review"));
  for (const auto& w : v.warnings) {
    EXPECT_TRUE(w.code == "evidence_contradicts" || w.code == "window_closing" ||
                w.code == "manual_review")
        << "undocumented warning " << w.code;
  }
}

// ---------------------------------------------------------------------------------------------
// check_note and is_clean_text.

TEST(ValidationNote, CheckNoteTable) {
  struct Row {
    const char* name;
    std::optional<Reason> reason;
    std::string note;
    std::optional<ErrorCode> code;
  };
  using E = ErrorCode;
  const Row rows[] = {
      {"no_reason_empty", std::nullopt, "", {}},
      {"bad_contact_empty", Reason::bad_contact, "", {}},
      {"duplicate_short", Reason::duplicate, "x", {}},
      {"other_empty", Reason::other, "", E::NOTE_REQUIRED},
      {"other_9_ascii", Reason::other, "123456789", E::NOTE_REQUIRED},
      {"other_10_ascii", Reason::other, "1234567890", {}},
      {"other_9_two_byte", Reason::other, repeat(9, kE), E::NOTE_REQUIRED},
      {"other_10_two_byte", Reason::other, repeat(10, kE), {}},
      {"other_5_emoji", Reason::other, repeat(5, kEmoji), E::NOTE_REQUIRED},
      {"other_10_emoji", Reason::other, repeat(10, kEmoji), {}},
      {"other_2000", Reason::other, repeat(2000, "a"), {}},
      {"other_2001", Reason::other, repeat(2001, "a"), E::TEXT_TOO_LONG},
      {"other_2000_three_byte", Reason::other, repeat(2000, kEuro), {}},
      {"other_2001_three_byte", Reason::other, repeat(2001, kEuro), E::TEXT_TOO_LONG},
      {"bad_contact_2001", Reason::bad_contact, repeat(2001, "a"), E::TEXT_TOO_LONG},
      {"no_reason_2001", std::nullopt, repeat(2001, "a"), E::TEXT_TOO_LONG},
      {"tab_and_newline_ok", Reason::other, "line one\n\tline two", {}},
      {"invalid_utf8", Reason::bad_contact, "\xff", E::INVALID_TEXT},
      {"invalid_utf8_other_long", Reason::other, "valid text then \xc3", E::INVALID_TEXT},
      {"control_char", Reason::bad_contact, "a\x01", E::INVALID_TEXT},
      {"carriage_return", Reason::other, "line one\r\nline two", E::INVALID_TEXT},
  };
  for (const Row& r : rows) {
    Status st = check_note(r.reason, r.note);
    if (!r.code) {
      EXPECT_TRUE(st.ok()) << r.name << ": " << to_string(st.error().code);
    } else {
      ASSERT_FALSE(st.ok()) << r.name << ": expected " << to_string(*r.code);
      EXPECT_EQ(st.error().code, *r.code) << r.name << ": got " << to_string(st.error().code);
      EXPECT_FALSE(st.error().message.empty()) << r.name;
    }
  }
}

TEST(ValidationNote, CleanTextTable) {
  struct Row {
    const char* name;
    std::string text;
    bool clean;
    std::size_t code_points;  // checked when clean
  };
  const Row rows[] = {
      {"empty", "", true, 0},
      {"ascii", "hello", true, 5},
      {"two_byte_x10", repeat(10, kE), true, 10},
      {"three_byte_x3", repeat(3, kEuro), true, 3},
      {"four_byte_x2", repeat(2, kEmoji), true, 2},
      {"mixed", "a" + kE + kEuro + kEmoji, true, 4},
      {"tab_newline", "a\tb\nc", true, 5},
      {"nul", std::string("a\0b", 3), false, 0},
      {"bell", "a\x07", false, 0},
      {"carriage_return", "a\rb", false, 0},
      {"escape", "\x1b[0m", false, 0},
      {"del", "a\x7f", false, 0},
      {"lone_continuation", "\x80", false, 0},
      {"truncated_two_byte", "\xc3", false, 0},
      {"truncated_four_byte", "\xf0\x9f\x98", false, 0},
      {"overlong_slash", "\xc0\xaf", false, 0},
      {"overlong_three_byte", "\xe0\x80\xaf", false, 0},
      {"utf16_surrogate", "\xed\xa0\x80", false, 0},
      {"above_u10ffff", "\xf4\x90\x80\x80", false, 0},
      {"invalid_byte_ff", "ok\xff", false, 0},
  };
  for (const Row& r : rows) {
    std::size_t n = 12345;
    bool clean = is_clean_text(r.text, &n);
    EXPECT_EQ(clean, r.clean) << r.name;
    if (r.clean && clean) {
      EXPECT_EQ(n, r.code_points) << r.name;
    }
    EXPECT_EQ(is_clean_text(r.text), r.clean) << r.name << " (without a counter)";
  }
}

// ---------------------------------------------------------------------------------------------
// preview_draft.

void expect_same_validation(const Validation& a, const Validation& b) {
  EXPECT_EQ(a.ok, b.ok);
  EXPECT_EQ(a.errors, b.errors);
  EXPECT_EQ(a.warnings, b.warnings);
}

TEST(ValidationPreview, IncludesEvidenceAndEvaluationWithDeadline) {
  const MemoryState state = world();
  DraftInput d = draft("fresh", Reason::wrong_vertical);
  Preview p = preview_draft(kBuyer1, d, state, kNow);
  expect_same_validation(p.validation, validate_draft(kBuyer1, d, state, kNow));
  ASSERT_TRUE(p.evidence.has_value());
  EXPECT_EQ(p.evidence->reason, Reason::wrong_vertical);
  EXPECT_EQ(p.evidence->verdict, EvidenceVerdict::warns);
  EXPECT_EQ(p.evidence->code, "vertical_matches");
  ASSERT_TRUE(p.evaluation.has_value());
  EXPECT_EQ(p.evaluation->deadline, kT0 + 168 * kH);
  EXPECT_EQ(p.evaluation->decision, Verdict::auto_accept);
  EXPECT_EQ(p.evaluation->rule, "within_24h");
  EXPECT_FALSE(p.evaluation->checks.empty());
}

TEST(ValidationPreview, EvaluationMatchesTheEvaluatorOnTheSameInputs) {
  const MemoryState state = world();
  for (Millis age : {Millis{0}, 5 * kH, 24 * kH - 1, 24 * kH, 168 * kH - 1, 168 * kH}) {
    SCOPED_TRACE(age);
    Preview p = preview_draft(kBuyer1, draft("fresh", Reason::bad_contact), state, kT0 + age);
    ASSERT_TRUE(p.evaluation.has_value());
    EXPECT_EQ(p.evaluation->deadline, kT0 + 168 * kH);
    PolicyInput in;
    in.delivered_at = kT0;
    in.now = kT0 + age;
    in.reason = Reason::bad_contact;
    in.price_cents = 5000;
    PolicyEvaluation direct = evaluate_policy(default_policy(), in);
    EXPECT_EQ(p.evaluation->decision, direct.decision);
    EXPECT_EQ(p.evaluation->rule, direct.rule);
    EXPECT_EQ(p.evaluation->refusal, direct.refusal);
  }
}

TEST(ValidationPreview, WindowClosedPreviewStillShowsTheDeadline) {
  const MemoryState state = world();
  Preview p = preview_draft(kBuyer1, draft("fresh", Reason::bad_contact), state, kT0 + 169 * kH);
  EXPECT_FALSE(p.validation.ok);
  ASSERT_TRUE(p.evaluation.has_value());
  EXPECT_EQ(p.evaluation->decision, Verdict::refused);
  EXPECT_EQ(p.evaluation->refusal, ErrorCode::WINDOW_CLOSED);
  EXPECT_EQ(p.evaluation->deadline, kT0 + 168 * kH);
}

TEST(ValidationPreview, WithoutReasonNoEvidence) {
  const MemoryState state = world();
  Preview p = preview_draft(kBuyer1, draft("fresh", std::nullopt), state, kNow);
  EXPECT_FALSE(p.evidence.has_value()) << "evidence needs a reason";
  EXPECT_TRUE(p.evaluation.has_value()) << "the lead is known";
  if (p.evaluation) {
    EXPECT_EQ(p.evaluation->deadline, kT0 + 168 * kH);
  }
  EXPECT_FALSE(p.validation.ok);
}

TEST(ValidationPreview, UnknownLeadHasNeither) {
  const MemoryState state = world();
  Preview p = preview_draft(kBuyer1, draft("nope", Reason::bad_contact), state, kNow);
  EXPECT_FALSE(p.evidence.has_value());
  EXPECT_FALSE(p.evaluation.has_value());
  ASSERT_FALSE(p.validation.errors.empty());
  EXPECT_EQ(p.validation.errors.front().code, ErrorCode::LEAD_NOT_FOUND);
}

TEST(ValidationPreview, RoutingAlertEvidenceForLeadOutsideCoverage) {
  MemoryState state = world();
  Buyer b1 = *state.find_buyer("b1");
  b1.coverage = Coverage{{"NY"}, {}};
  state.put(b1);
  Preview p = preview_draft(kBuyer1, draft("fresh", Reason::out_of_service_area), state, kNow);
  ASSERT_TRUE(p.evidence.has_value());
  EXPECT_EQ(p.evidence->code, "outside_coverage");
  EXPECT_TRUE(p.evidence->routing_alert);
  EXPECT_FALSE(has_warning(p.validation, "evidence_contradicts"));
}

// ---------------------------------------------------------------------------------------------
// The promise: validation and submit agree on the same state and clock.

void expect_validation_matches_submit(const std::string& name, const Actor& actor,
                                      const DraftInput& d, const MemoryState& state, Millis now) {
  SCOPED_TRACE(name);
  Validation v = validate_draft(actor, d, state, now);
  Preview p = preview_draft(actor, d, state, now);
  SubmitReturnArgs args{d.return_id, d.lead_id, d.reason, d.note, now};
  Result<Effects> r = apply_op(actor, OpArgs{args}, state, now);
  if (v.ok) {
    ASSERT_TRUE(r.ok()) << name << ": validated clean but submit refused with "
                        << to_string(r.error().code) << " (" << r.error().message << ")";
    ASSERT_TRUE(r->ret.has_value());
    EXPECT_TRUE(r->ret->state == ReturnState::pending || r->ret->state == ReturnState::accepted)
        << name << ": " << to_string(r->ret->state);
    // The preview's evaluation is the decision the submit made.
    ASSERT_TRUE(r->evaluation.has_value()) << name;
    ASSERT_TRUE(p.evaluation.has_value()) << name;
    EXPECT_EQ(*p.evaluation, *r->evaluation) << name << ": preview and submit disagree";
    EXPECT_EQ(r->ret->state == ReturnState::accepted,
              r->evaluation->decision == Verdict::auto_accept)
        << name;
    EXPECT_EQ(has_warning(v, "manual_review"), r->ret->state == ReturnState::pending) << name;
    if (p.evidence && r->evidence) {
      EXPECT_EQ(*p.evidence, *r->evidence) << name;
    }
  } else {
    ASSERT_FALSE(v.errors.empty()) << name;
    ASSERT_FALSE(r.ok()) << name << ": validation found " << codes_of(v)
                         << "but submit accepted it";
    EXPECT_EQ(r.error().code, v.errors.front().code)
        << name << ": validation " << codes_of(v) << "vs submit " << to_string(r.error().code);
  }
}

TEST(ValidationPromise, ValidationAgreesWithSubmit) {
  const MemoryState state = world();
  for (const DraftRow& row : draft_rows()) {
    expect_validation_matches_submit(row.name, row.actor, row.draft, state, row.now);
  }
}

TEST(ValidationPromise, ReturnIdCollisions) {
  const MemoryState state = world();
  struct Row {
    const char* name;
    DraftInput d;
  };
  const Row rows[] = {
      {"id_of_pending_return_same_lead", draft("open", Reason::bad_contact, "", "r-open")},
      {"id_of_pending_return_other_lead", draft("fresh", Reason::bad_contact, "", "r-open")},
      {"id_of_rejected_return_same_lead",
       draft("rejected_before", Reason::bad_contact, "", "r-rej")},
      {"id_of_accepted_return", draft("returned", Reason::bad_contact, "", "r-acc")},
      {"id_of_other_buyers_return", draft("fresh", Reason::bad_contact, "", "r-b2")},
      {"id_of_own_draft_other_lead", draft("solar", Reason::bad_contact, "", "d-saved")},
  };
  for (const Row& r : rows) {
    Validation v = validate_draft(kBuyer1, r.d, state, kNow);
    EXPECT_FALSE(v.ok) << r.name << ": a used return id must not validate clean";
    expect_validation_matches_submit(r.name, kBuyer1, r.d, state, kNow);
  }
}

TEST(ValidationPromise, AcrossTheClock) {
  // Every lead and reason, at ages around each boundary of both policies.
  const MemoryState state = world();
  const char* leads[] = {"fresh",           "solar",  "flagged", "returned", "open",
                         "rejected_before", "theirs", "cool",    "nope"};
  const Millis ages[] = {-1,      0,        2 * kH - 1,   2 * kH,  24 * kH - 1,
                         24 * kH, 144 * kH, 168 * kH - 1, 168 * kH};
  int n = 0;
  for (const Actor& actor : {kBuyer1, kBuyer3}) {
    for (const char* l : leads) {
      for (Reason reason : all_reasons()) {
        for (Millis age : ages) {
          std::string note = reason == Reason::other ? "Explained in ten+ chars" : "";
          std::string name = actor.buyer_id + "/" + l + "/" + std::string(to_string(reason)) +
                             "/age=" + std::to_string(age);
          expect_validation_matches_submit(name, actor, draft(l, reason, note), state, kT0 + age);
          ++n;
        }
      }
    }
  }
  EXPECT_EQ(n, 2 * 9 * 6 * 9);
}

TEST(ValidationPromise, SecondSubmitOfTheSameLeadAgrees) {
  // After a clean submit is committed, validating another return for the lead reports what the
  // second submit refuses with (RETURN_OPEN when pending, ALREADY_RETURNED when auto-accepted).
  for (Millis now : {kT0 + 5 * kH, kT0 + 30 * kH}) {
    MemoryState state = world();
    DraftInput first = draft("fresh", Reason::bad_contact, "", "first");
    Validation v = validate_draft(kBuyer1, first, state, now);
    ASSERT_TRUE(v.ok) << codes_of(v);
    auto r =
        apply_op(kBuyer1, OpArgs{SubmitReturnArgs{"first", "fresh", Reason::bad_contact, "", now}},
                 state, now);
    ASSERT_TRUE(r.ok()) << to_string(r.error().code);
    state.commit(r.value());
    const bool auto_accepted = r->ret && r->ret->state == ReturnState::accepted;
    DraftInput second = draft("fresh", Reason::duplicate, "", "second");
    Validation v2 = validate_draft(kBuyer1, second, state, now + 1);
    ASSERT_FALSE(v2.ok);
    EXPECT_EQ(v2.errors.front().code,
              auto_accepted ? ErrorCode::ALREADY_RETURNED : ErrorCode::RETURN_OPEN)
        << codes_of(v2);
    expect_validation_matches_submit(auto_accepted ? "after_auto_accept" : "after_pending", kBuyer1,
                                     second, state, now + 1);
  }
}

}  // namespace
}  // namespace returns
