// demo_data.cc — the seeded demo world and its timeline. Leads are generated day by day and
// ingested in batches; every lead that will be returned gets a plan (draft, submit, review,
// thread, decision, reopen…) whose steps are scheduled as timed actions and applied through
// Store::apply_ops in time order, grouped into windows like the server's group commit. Later
// steps are chosen after the earlier ones were applied, from what the store decided (e.g. an
// auto-accepted return never goes to an operator).
#include "store/demo_data.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>

namespace returns::store {
namespace {

// --- Randomness: splitmix64, and only integer or exactly-rounded arithmetic on top of it. ---

constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(std::uint64_t state) : s_(state) {}
  std::uint64_t next() {
    s_ += 0x9E3779B97F4A7C15ULL;
    return mix64(s_);
  }
  // Uniform in [0, 1), 53 bits: exact on every IEEE platform.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
  // Uniform integer in [lo, hi] (hi - lo small: the modulo bias is far below anything visible).
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(next() % span);
  }
  // A duration in [lo_h, hi_h) hours, in milliseconds.
  Millis hours(double lo_h, double hi_h) {
    return static_cast<Millis>((lo_h + (hi_h - lo_h) * unit()) *
                               static_cast<double>(kMillisPerHour));
  }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(next() % v.size())];
  }
  // Index drawn with the given weights.
  template <class W>
  std::size_t weighted(const W& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = unit() * total;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }
  std::string hex(int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    std::uint64_t bits = next();
    for (int i = 0; i < digits; ++i) {
      if (i > 0 && i % 16 == 0) bits = next();
      s += kHex[bits & 0xF];
      bits >>= 4;
    }
    return s;
  }
  // A version-4 UUID, as a client would make for return and message ids.
  std::string uuid() {
    std::string h = hex(32);
    h[12] = '4';
    h[16] = "89ab"[static_cast<std::size_t>(next() % 4)];
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
  }

 private:
  std::uint64_t s_;
};

// An independent stream per (purpose, index), so one part of the world never shifts another.
Rng stream(std::uint64_t seed, std::uint64_t purpose, std::uint64_t index) {
  return Rng(
      mix64(seed ^ mix64(purpose * 0x100000001B3ULL + mix64(index + 0x632BE59BD9B4E019ULL))));
}

// --- The cast. ------------------------------------------------------------------------------

struct StateZips {
  const char* state;
  int lo;  // first three zip digits, inclusive range
  int hi;
};
constexpr std::array<StateZips, 30> kStates = {{
    {"TX", 750, 799}, {"FL", 320, 349}, {"GA", 300, 319}, {"CA", 900, 961}, {"AZ", 850, 865},
    {"NV", 889, 898}, {"NY", 100, 149}, {"NJ", 70, 89},   {"PA", 150, 196}, {"IL", 600, 629},
    {"OH", 430, 458}, {"MI", 480, 499}, {"MN", 550, 567}, {"WI", 530, 549}, {"OK", 730, 749},
    {"KS", 660, 679}, {"NE", 680, 693}, {"CO", 800, 816}, {"NC", 270, 289}, {"SC", 290, 299},
    {"WA", 980, 994}, {"OR", 970, 979}, {"MA", 10, 27},   {"VA", 220, 246}, {"TN", 370, 385},
    {"MO", 630, 658}, {"IN", 460, 479}, {"LA", 700, 714}, {"AL", 350, 369}, {"KY", 400, 427},
}};

const std::vector<std::string> kVerticals = {"mva",      "slip_and_fall", "solar",
                                             "medicare", "roofing",       "auto_insurance"};

struct BuyerSpec {
  Buyer buyer;
  double base_rate = 0.06;  // chance a clean lead is returned (before supplier quality)
  std::string subject;
  std::string person;
  int clients = 2;  // portal devices, each its own client id with its own seqs
  std::string about;
};

struct SupplierSpec {
  Supplier supplier;
  double quality = 1.0;                                   // multiplies the return chance
  double payout = 0.6;                                    // cost = price * payout
  std::vector<std::pair<std::string, double>> verticals;  // what it sells, with weights
};

struct CampaignSpec {
  Campaign campaign;
  std::size_t buyer = 0;
  double weight = 1.0;  // share of all leads
};

struct PolicyChange {
  Millis before_now = 0;  // when, counted back from now
  std::size_t buyer = 0;
  std::string by;
  Policy policy;
};

struct World {
  std::vector<BuyerSpec> buyers;
  std::vector<SupplierSpec> suppliers;
  std::vector<CampaignSpec> campaigns;
  std::vector<std::string> operators;
  std::vector<PolicyChange> changes;
  std::size_t drop_supplier = 0;
  std::size_t intake_buyer = 0;
  // vertical -> (supplier index, weight)
  std::map<std::string, std::vector<std::pair<std::size_t, double>>> sellers;
  std::map<std::string, std::vector<double>> seller_weights;  // the weights alone, same order
  std::vector<double> campaign_weights;
};

PolicyRule rule(std::string id, std::optional<int> max_age, std::vector<Reason> reasons = {},
                std::optional<Money> max_price = {}, std::optional<BasisPoints> max_rate = {},
                std::optional<int> per_day = {}) {
  PolicyRule r;
  r.id = std::move(id);
  r.max_age_hours = max_age;
  r.reasons = std::move(reasons);
  r.max_price_cents = max_price;
  r.max_return_rate = max_rate;
  r.max_auto_per_day = per_day;
  return r;
}

Policy policy(PolicyMode mode, int window, int min_age, std::vector<PolicyRule> rules,
              std::optional<BasisPoints> cap) {
  Policy p;
  p.mode = mode;
  p.window_hours = window;
  p.min_age_hours = min_age;
  p.rules = std::move(rules);
  p.cap_rate = cap;
  return p;
}

const World& world() {
  static const World w = [] {
    World x;
    using R = Reason;
    auto buyer = [&](std::string id, std::string name, Billing billing,
                     std::vector<std::string> states, std::vector<std::string> zips, Policy pol,
                     double rate, std::string subject, std::string person, int clients,
                     std::string about) {
      BuyerSpec b;
      b.buyer = Buyer{std::move(id), std::move(name), billing,
                      Coverage{std::move(states), std::move(zips)}, std::move(pol)};
      b.base_rate = rate;
      b.subject = std::move(subject);
      b.person = std::move(person);
      b.clients = clients;
      b.about = std::move(about);
      x.buyers.push_back(std::move(b));
    };
    buyer("apex-injury", "Apex Injury Law", Billing::prepaid, {"TX", "FL", "GA", "CA"}, {},
          default_policy(), 0.062, "dana.ortiz", "Dana Ortiz", 3,
          "prepaid wallet, default policy (auto-accept within 24 h, 7-day window)");
    buyer("sunrise-solar", "Sunrise Solar Partners", Billing::net_terms, {"CA", "AZ", "NV"},
          {"90", "91", "92", "93", "94", "95", "850", "852", "853", "857", "889", "890", "891"},
          policy(PolicyMode::rules, 120, 0,
                 {rule("fast_contact_issues", 48, {R::bad_contact, R::duplicate}, 6000, 1200, 40)},
                 2500),
          0.052, "li.wei", "Li Wei", 2,
          "net terms, zip-prefix coverage, a rule with reasons, price, rate and daily limits");
    buyer("harbor-medicare", "Harbor Medicare Advisors", Billing::net_terms,
          {"FL", "AZ", "TX", "PA", "OH"}, {}, policy(PolicyMode::manual, 72, 0, {}, std::nullopt),
          0.078, "grace.hollis", "Grace Hollis", 2, "manual review of every return, 72 h window");
    buyer("keystone-roofing", "Keystone Roofing", Billing::prepaid, {"TX", "OK", "KS", "NE", "CO"},
          {}, policy(PolicyMode::always_accept, 48, 0, {}, 1800), 0.048, "tom.brandt", "Tom Brandt",
          2, "always accept within 48 h, capped at an 18 % return rate");
    buyer("liberty-legal", "Liberty Legal Group", Billing::net_terms, {"NY", "NJ", "PA", "IL"}, {},
          policy(PolicyMode::rules, 168, 1,
                 {rule("within_24h", 24, {}, 15000), rule("tcpa_72h", 72, {R::tcpa_risk})},
                 std::nullopt),
          0.058, "rachel.kim", "Rachel Kim", 3, "two rules and a 1 h cool-off");
    buyer("evergreen-health", "Evergreen Health Insurance", Billing::prepaid,
          {"FL", "GA", "NC", "SC"}, {},
          policy(PolicyMode::rules, 96, 0, {rule("within_12h", 12, {}, std::nullopt, 1000, 25)},
                 std::nullopt),
          0.068, "omar.haddad", "Omar Haddad", 2, "12 h rule with a rate limit and 25 a day");
    buyer("northstar-home", "Northstar Home Services", Billing::net_terms,
          {"MN", "WI", "MI", "OH", "IL"}, {}, default_policy(), 0.055, "erik.lund", "Erik Lund", 2,
          "default policy; its intake changes in the last 7 days (buyer alert)");
    buyer(
        "pinnacle-auto", "Pinnacle Auto Insurance", Billing::prepaid, {}, {},
        policy(PolicyMode::rules, 72, 0,
               {rule("quick_verifiable", 36, {R::bad_contact, R::duplicate, R::tcpa_risk})}, 2000),
        0.072, "jess.moreno", "Jess Moreno", 3, "nationwide, verifiable reasons within 36 h");
    x.intake_buyer = 6;

    auto supplier = [&](std::string id, std::string name, bool pass, double quality, double payout,
                        std::vector<std::pair<std::string, double>> verticals) {
      x.suppliers.push_back(SupplierSpec{Supplier{std::move(id), std::move(name), pass}, quality,
                                         payout, std::move(verticals)});
    };
    supplier("brightpath", "BrightPath Media", false, 1.0, 0.62,
             {{"mva", 3}, {"slip_and_fall", 2}, {"auto_insurance", 2}});
    supplier("leadharbor", "LeadHarbor", true, 0.85, 0.58,
             {{"medicare", 4}, {"auto_insurance", 3}});
    supplier("summit-digital", "Summit Digital", false, 0.9, 0.66,
             {{"solar", 3}, {"roofing", 2}, {"auto_insurance", 1.5}});
    supplier("callwave", "Callwave", true, 1.15, 0.6,
             {{"mva", 3}, {"slip_and_fall", 2}, {"medicare", 2}});
    supplier("atlas-performance", "Atlas Performance", false, 1.0, 0.64,
             {{"solar", 2}, {"roofing", 2}, {"auto_insurance", 2}});
    supplier("northwind-leads", "Northwind Leads", false, 0.95, 0.61,
             {{"medicare", 2}, {"roofing", 2}, {"solar", 2}});
    supplier("blueoak-marketing", "BlueOak Marketing", false, 1.2, 0.55,
             {{"mva", 2}, {"auto_insurance", 2}, {"solar", 1.5}});
    supplier("vector-response", "Vector Response", true, 0.8, 0.68,
             {{"medicare", 2}, {"slip_and_fall", 2}, {"roofing", 2}});
    supplier("quill-data", "Quill Data", false, 1.3, 0.52,
             {{"mva", 1},
              {"slip_and_fall", 1},
              {"solar", 1},
              {"medicare", 1},
              {"roofing", 1},
              {"auto_insurance", 1}});
    supplier("redline-traffic", "Redline Traffic", false, 1.0, 0.57,
             {{"mva", 1.6},
              {"slip_and_fall", 1.2},
              {"solar", 1.3},
              {"roofing", 1.3},
              {"auto_insurance", 1.6}});
    x.drop_supplier = 9;
    for (std::size_t s = 0; s < x.suppliers.size(); ++s) {
      for (const auto& [vertical, weight] : x.suppliers[s].verticals) {
        x.sellers[vertical].push_back({s, weight});
        x.seller_weights[vertical].push_back(weight);
      }
    }

    auto campaign = [&](std::string id, std::size_t b, std::string vertical, Money price,
                        double weight) {
      x.campaigns.push_back(CampaignSpec{
          Campaign{std::move(id), x.buyers[b].buyer.id, std::move(vertical), price}, b, weight});
    };
    campaign("apex-mva-tx", 0, "mva", 12500, 8);
    campaign("apex-slip-fall", 0, "slip_and_fall", 7500, 5);
    campaign("sunrise-solar-ca", 1, "solar", 5500, 9);
    campaign("sunrise-solar-az", 1, "solar", 4800, 5);
    campaign("harbor-medicare-aep", 2, "medicare", 2800, 12);
    campaign("harbor-medsupp", 2, "medicare", 3500, 3);
    campaign("keystone-storm-roof", 3, "roofing", 4500, 10);
    campaign("liberty-mva-ny", 4, "mva", 15000, 6);
    campaign("liberty-premises", 4, "slip_and_fall", 8500, 4);
    campaign("evergreen-medicare", 5, "medicare", 2400, 9);
    campaign("northstar-roof", 6, "roofing", 4200, 6);
    campaign("northstar-solar", 6, "solar", 5000, 5);
    campaign("pinnacle-auto-quotes", 7, "auto_insurance", 1800, 18);
    for (const CampaignSpec& c : x.campaigns) x.campaign_weights.push_back(c.weight);

    x.operators = {"maria.chen", "dev.patel", "sam.okafor"};

    // Two policy edits through set_policy during the period.
    Policy keystone = x.buyers[3].buyer.policy;
    keystone.cap_rate = 1600;
    x.changes.push_back(PolicyChange{41 * kMillisPerDay, 3, "maria.chen", keystone});
    Policy sunrise = x.buyers[1].buyer.policy;
    sunrise.rules[0].max_auto_per_day = 60;
    x.changes.push_back(
        PolicyChange{23 * kMillisPerDay + 5 * kMillisPerHour, 1, "dev.patel", sunrise});
    return x;
  }();
  return w;
}

// --- Words people write. --------------------------------------------------------------------

const std::vector<std::string>& buyer_notes(Reason r) {
  static const std::map<Reason, std::vector<std::string>> notes = {
      {Reason::bad_contact,
       {"", "", "Number disconnected.", "Rings out, no voicemail, three attempts.",
        "Wrong person answered; never heard of us.", "Email bounced and the phone is a fax line.",
        "Invalid number (555 exchange)."}},
      {Reason::duplicate,
       {"", "Same caller came through last week.",
        "We already have this consumer from another vendor.", "Consumer submitted twice."}},
      {Reason::wrong_vertical,
       {"", "Caller wanted auto insurance, not an attorney.",
        "Interested in a lease only; the campaign is for purchases.",
        "Asked about a warranty, not a new roof."}},
      {Reason::tcpa_risk,
       {"", "Number is on our internal do-not-call list.",
        "Consumer says they never consented to be called.", "Reassigned number per our scrub."}},
      {Reason::out_of_service_area,
       {"", "Property is outside our service area.",
        "Accident happened in a state we do not cover.",
        "Zip code is outside the licensed territory."}},
      {Reason::other,
       {"Consumer is already represented by counsel.", "Caller is under 18.",
        "Lead is a business line, not a consumer.", "Homeowner is renting; cannot sign a contract.",
        "Consumer asked to be removed immediately.",
        "Consumer only wanted a price, will not book an appointment.",
        "Not eligible: consumer is under 65 and not on disability."}},
  };
  return notes.at(r);
}

const std::vector<std::string> kRejectNotes = {
    "Call recording shows a four-minute conversation with the consumer.",
    "TrustedForm certificate confirms consent on the delivery date.",
    "Our QA reached the consumer on the first try.",
    "The earlier lead came from another vendor; not covered by our return terms.",
    "The lead matches the campaign filters as configured.",
    "Returned for a reason outside the agreed return terms.",
};
const std::vector<std::string> kAcceptNotes = {
    "",
    "",
    "",
    "Confirmed with the supplier.",
    "Goodwill credit.",
    "Verified: number disconnected.",
};
const std::vector<std::string> kOperatorQuestions = {
    "Can you share the call log or recording for this one?",
    "The supplier says the consumer confirmed interest. Do you have notes from the call?",
    "Which number did you dial? We have a second number on file.",
};
const std::vector<std::string> kBuyerReplies = {
    "Dialed the number on the lead three times, disconnected every time.",
    "Recording is in our CRM: the consumer says they never filled anything out.",
    "Our agent reached a different person at that number.",
    "Sent the call log to your support inbox.",
};
const std::vector<std::string> kBuyerNudges = {
    "Following up: this one is clearly bad.",
    "Any update on this return?",
    "Adding context: the consumer hung up as soon as we said the company name.",
};
const std::vector<std::string> kDisputes = {
    "We disagree: the consumer told us they never requested contact.",
    "Please take another look; the recording is ten seconds of silence.",
};
const std::vector<std::string> kReopenNotes = {
    "Reopened after a supplier dispute: their recording shows a full conversation.",
    "Reopened on the buyer's appeal.",
    "Reopened for a second review.",
};

// --- The timeline. --------------------------------------------------------------------------

enum class Act {
  save_draft,
  discard_draft,
  submit,
  withdraw,
  buyer_message,
  operator_message,
  accept,
  reject,
  reopen,
  set_policy,
};

// One return's plan, carried from action to action (a return has one pending action at a time).
struct ReturnPlan {
  std::string return_id;
  std::string lead_id;
  std::size_t buyer = 0;
  int client = 1;
  Reason reason = Reason::other;
  std::string note;
  Money price = 0;
  bool pass_through = false;
  bool evidence_supports =
      false;  // the lead's data backs the reason: operators nearly always accept
  Millis drafted_at = 0;
  Millis submit_at = 0;  // planned submit time (after a draft)
  bool discard = false;  // drafted, then discarded instead of submitted
  bool reopened = false;
  bool after_reopen_reject = false;  // the review after a reopen rejects
  bool disputing = false;            // the buyer's next message disputes a rejection
  Rng rng{0};
};

struct Action {
  Millis at = 0;
  std::uint64_t order = 0;  // ties: scheduling order
  Act act = Act::submit;
  std::unique_ptr<ReturnPlan> plan;
  std::size_t change = 0;  // set_policy: index into world().changes
};

struct Later {
  bool operator()(const Action& a, const Action& b) const {
    return a.at != b.at ? a.at > b.at : a.order > b.order;
  }
};

std::string_view op_name(Act a) {
  switch (a) {
    case Act::save_draft:
      return "save_draft";
    case Act::discard_draft:
      return "discard_draft";
    case Act::submit:
      return "submit_return";
    case Act::withdraw:
      return "withdraw_return";
    case Act::buyer_message:
    case Act::operator_message:
      return "post_message";
    case Act::accept:
      return "accept_return";
    case Act::reject:
      return "reject_return";
    case Act::reopen:
      return "reopen_return";
    case Act::set_policy:
      return "set_policy";
  }
  return "";
}

bool by_operator(Act a) {
  return a == Act::operator_message || a == Act::accept || a == Act::reject || a == Act::reopen ||
         a == Act::set_policy;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Hour-of-day weights (UTC): US business hours carry most deliveries.
constexpr std::array<double, 24> kHourWeights = {5, 4, 3, 2, 1, 1, 1, 1, 1, 1, 2, 3,
                                                 4, 6, 7, 8, 8, 8, 8, 8, 7, 7, 6, 6};

class Generator {
 public:
  Generator(Store& store, const DemoConfig& cfg) : store_(store), cfg_(cfg), w_(world()) {}

  Result<DemoSummary> run();

 private:
  Store& store_;
  const DemoConfig& cfg_;
  const World& w_;
  DemoSummary sum_;
  std::vector<Action> heap_;
  std::uint64_t order_ = 0;
  Millis clock_ = 0;        // the server clock of the last apply (monotonic)
  Millis change_from_ = 0;  // start of the last 7 UTC days: the drop and the intake change
  std::map<std::string, std::int64_t> seqs_;
  std::vector<std::vector<std::string>> recent_contacts_;  // per buyer, ring of contact hashes
  std::vector<std::size_t> ring_pos_;
  std::int64_t lead_counter_ = 0;

  void schedule(Millis at, Act act, std::unique_ptr<ReturnPlan> plan, std::size_t change = 0) {
    Action a;
    a.at = at;
    a.order = order_++;
    a.act = act;
    a.plan = std::move(plan);
    a.change = change;
    heap_.push_back(std::move(a));
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }

  std::vector<std::int64_t> day_counts(std::int64_t first_day, std::int64_t last_day) const;
  Millis draw_time(Rng& r, std::int64_t day, Millis limit) const;
  Lead make_lead(Rng& r, Millis at, bool* returns, Reason* reason);
  void plan_return(Rng& r, const Lead& lead, std::size_t buyer, Reason reason, bool supports);
  Status apply_due(Millis limit);
  OpRequest request_for(const Action& a);
  Status follow_up(Action& a, const OpResult& res);
  void plan_review(ReturnPlan& p, Millis from, std::unique_ptr<ReturnPlan> owned);
};

std::vector<std::int64_t> Generator::day_counts(std::int64_t first_day,
                                                std::int64_t last_day) const {
  // Weekday shape and a little day-to-day noise; the last day only up to now.
  Rng r = stream(cfg_.seed, 1, 0);
  std::vector<double> weights;
  double hours_total = 0;
  for (double h : kHourWeights) hours_total += h;
  for (std::int64_t d = first_day; d <= last_day; ++d) {
    const std::int64_t weekday = (d + 4) % 7;  // 1970-01-01 was a Thursday; 0 = Sunday
    double wgt = (weekday == 0 || weekday == 6) ? 0.62 : 1.0;
    wgt *= 0.9 + 0.2 * r.unit();
    if (d == last_day) {
      const Millis into = cfg_.now - d * kMillisPerDay;
      double frac = 0;
      for (int h = 0; h < 24; ++h) {
        const Millis hs = h * kMillisPerHour;
        if (into >= hs + kMillisPerHour) {
          frac += kHourWeights[static_cast<std::size_t>(h)];
        } else if (into > hs) {
          frac += kHourWeights[static_cast<std::size_t>(h)] * static_cast<double>(into - hs) /
                  static_cast<double>(kMillisPerHour);
        }
      }
      wgt *= frac / hours_total;
    }
    weights.push_back(wgt);
  }
  const std::int64_t total = cfg_.total_leads > 0
                                 ? cfg_.total_leads
                                 : static_cast<std::int64_t>(cfg_.leads_per_day) * cfg_.days;
  double sum = 0;
  for (double x : weights) sum += x;
  std::vector<std::int64_t> counts;
  double cum = 0;
  std::int64_t given = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    cum += weights[i];
    const std::int64_t upto =
        i + 1 == weights.size()
            ? total
            : static_cast<std::int64_t>(static_cast<double>(total) * (cum / sum));
    counts.push_back(upto - given);
    given = upto;
  }
  return counts;
}

Millis Generator::draw_time(Rng& r, std::int64_t day, Millis limit) const {
  const Millis midnight = day * kMillisPerDay;
  for (int attempt = 0; attempt < 64; ++attempt) {
    const auto h = static_cast<Millis>(r.weighted(kHourWeights));
    const Millis t = midnight + h * kMillisPerHour + r.range(0, kMillisPerHour - 1);
    if (t < limit) return t;
  }
  return midnight + r.range(0, std::max<Millis>(1, limit - midnight) - 1);  // a sliver of a day
}

Lead Generator::make_lead(Rng& r, Millis at, bool* returns, Reason* reason) {
  const CampaignSpec& cs = w_.campaigns[r.weighted(w_.campaign_weights)];
  const BuyerSpec& bs = w_.buyers[cs.buyer];
  const auto& sellers = w_.sellers.at(cs.campaign.vertical);
  const std::size_t si = sellers[r.weighted(w_.seller_weights.at(cs.campaign.vertical))].first;
  const SupplierSpec& ss = w_.suppliers[si];
  const bool recent = at >= change_from_;
  const bool dropping = recent && si == w_.drop_supplier;
  const bool intake = recent && cs.buyer == w_.intake_buyer;

  Lead l;
  char id[32];
  std::snprintf(id, sizeof id, "L%09lld", static_cast<long long>(++lead_counter_));
  l.id = id;
  l.buyer_id = bs.buyer.id;
  l.supplier_id = ss.supplier.id;
  l.campaign_id = cs.campaign.id;
  l.vertical = cs.campaign.vertical;
  l.price_cents = cs.campaign.price_cents;
  l.cost_cents = static_cast<Money>(static_cast<double>(l.price_cents) * ss.payout) / 25 * 25;
  l.delivered_at = at;

  // Where the consumer is: inside the buyer's coverage, or (rarely) where the routing filter
  // should have stopped it.
  const Coverage& cov = bs.buyer.coverage;
  const bool outside = !cov.states.empty() && r.chance(dropping ? 0.03 : 0.012);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const StateZips* sz = nullptr;
    if (!outside && !cov.states.empty()) {
      const std::string& st = r.pick(cov.states);
      for (const StateZips& s : kStates) {
        if (st == s.state) sz = &s;
      }
    } else {
      sz = &kStates[static_cast<std::size_t>(r.range(0, kStates.size() - 1))];
    }
    char zip[8];
    std::snprintf(zip, sizeof zip, "%03d%02d", static_cast<int>(r.range(sz->lo, sz->hi)),
                  static_cast<int>(r.range(0, 99)));
    l.state = sz->state;
    l.zip = zip;
    if (cov.covers(l.state, l.zip) != outside) break;
  }
  const bool out_of_coverage = !cov.covers(l.state, l.zip);

  const bool wrong_vertical = r.chance(0.006);
  if (wrong_vertical) {
    while (l.vertical == cs.campaign.vertical) l.vertical = r.pick(kVerticals);
  }
  l.tcpa_flag = r.chance(cs.campaign.vertical == "medicare" ? 0.02 : 0.01);

  // Re-delivered consumers: the same contact hash this buyer already had.
  auto& ring = recent_contacts_[cs.buyer];
  const bool duplicate = !ring.empty() && r.chance(dropping ? 0.06 : 0.015);
  if (duplicate) {
    l.contact_hash = r.pick(ring);
  } else {
    l.contact_hash = r.hex(24);
    if (ring.size() < 4096) {
      ring.push_back(l.contact_hash);
    } else {
      ring[ring_pos_[cs.buyer]++ % ring.size()] = l.contact_hash;
    }
  }
  if (duplicate) ++sum_.duplicate_leads;
  if (l.tcpa_flag) ++sum_.tcpa_leads;
  if (out_of_coverage) ++sum_.out_of_coverage_leads;
  if (wrong_vertical) ++sum_.wrong_vertical_leads;

  // Will the buyer return it, and why? Leads whose data backs a reason mostly come back for it;
  // the rest come back at the buyer's rate times the supplier's quality.
  *returns = false;
  if (wrong_vertical && r.chance(0.7)) {
    *returns = true;
    *reason = Reason::wrong_vertical;
  } else if (out_of_coverage && r.chance(0.75)) {
    *returns = true;
    *reason = Reason::out_of_service_area;
  } else if (duplicate && r.chance(0.6)) {
    *returns = true;
    *reason = Reason::duplicate;
  } else if (l.tcpa_flag && r.chance(0.45)) {
    *returns = true;
    *reason = Reason::tcpa_risk;
  } else {
    double p = bs.base_rate * ss.quality;
    if (dropping) p *= 3.6;
    if (intake) p *= 4.0;
    if (r.chance(p)) {
      *returns = true;
      static constexpr std::array<double, 6> kMix = {0.56, 0.08, 0.10, 0.06, 0.08, 0.12};
      static constexpr std::array<double, 6> kIntakeMix = {0.40, 0.12, 0.08, 0.05, 0.05, 0.30};
      static constexpr std::array<Reason, 6> kReasons = {
          Reason::bad_contact, Reason::wrong_vertical,      Reason::duplicate,
          Reason::tcpa_risk,   Reason::out_of_service_area, Reason::other};
      *reason = kReasons[intake ? r.weighted(kIntakeMix) : r.weighted(kMix)];
    }
  }
  return l;
}

void Generator::plan_return(Rng& r, const Lead& lead, std::size_t buyer, Reason reason,
                            bool supports) {
  const BuyerSpec& bs = w_.buyers[buyer];
  const Policy& pol = bs.buyer.policy;
  auto p = std::make_unique<ReturnPlan>();
  p->rng = Rng(r.next());
  p->return_id = r.uuid();
  p->lead_id = lead.id;
  p->buyer = buyer;
  p->client = static_cast<int>(r.range(1, bs.clients));
  p->reason = reason;
  p->note = r.pick(buyer_notes(reason));
  p->price = lead.price_cents;
  for (const SupplierSpec& s : w_.suppliers) {
    if (s.supplier.id == lead.supplier_id) p->pass_through = s.supplier.pass_through_returns;
  }
  p->evidence_supports = supports;
  const double window_h = pol.window_hours;
  const double min_h = pol.min_age_hours;
  const Millis window = pol.window_hours * kMillisPerHour;
  const double late = r.unit();
  if (late < 0.012) {
    // Drafted inside the window, submitted after it closed: refused, the draft is kept.
    p->drafted_at = lead.delivered_at + window - r.hours(1, 12);
    p->submit_at = lead.delivered_at + window + r.hours(1, 48);
    const Millis at = p->drafted_at;
    schedule(at, Act::save_draft, std::move(p));
  } else if (late < 0.02) {
    // Written offline inside the window, synced (draft then submit) after it closed.
    p->drafted_at = lead.delivered_at + window - r.hours(1, 12);
    const Millis sync = lead.delivered_at + window + r.hours(1, 48);
    p->submit_at = sync + 1000;
    schedule(sync, Act::save_draft, std::move(p));
  } else if (late < 0.03) {
    // Submitted straight after the window: refused, kept as a draft with the reason.
    schedule(lead.delivered_at + window + r.hours(0.1, 30), Act::submit, std::move(p));
  } else {
    // Mostly early: u^4 puts the median near 6 % of the usable span.
    const double u = r.unit();
    const double span = std::min(window_h, 120.0) * 0.9 - min_h - 0.25;
    const auto delay = static_cast<Millis>((min_h + 0.25 + span * u * u * u * u) *
                                           static_cast<double>(kMillisPerHour));
    const Millis submit = lead.delivered_at + delay;
    if (r.chance(0.13)) {
      const Millis lead_time = std::min<Millis>(6 * kMillisPerHour, delay / 2);
      p->drafted_at = submit - 1 - static_cast<Millis>(r.unit() * static_cast<double>(lead_time));
      p->submit_at = submit;
      p->discard = r.chance(0.2);
      const Millis at = p->drafted_at;
      schedule(at, Act::save_draft, std::move(p));
    } else {
      schedule(submit, Act::submit, std::move(p));
    }
  }
}

OpRequest Generator::request_for(const Action& a) {
  OpRequest req;
  const std::string op(op_name(a.act));
  req.op = op;
  Rng* rng = a.plan ? &a.plan->rng : nullptr;
  if (a.act == Act::set_policy) {
    const PolicyChange& c = w_.changes[a.change];
    req.actor = Actor::operator_(c.by);
    req.client_id = "dashboard." + c.by;
    req.args = Json{{"buyer_id", w_.buyers[c.buyer].buyer.id}, {"policy", to_json(c.policy)}};
  } else if (by_operator(a.act)) {
    const std::string& who = rng->pick(w_.operators);
    req.actor = Actor::operator_(who);
    req.client_id = "dashboard." + who;
  } else {
    const BuyerSpec& bs = w_.buyers[a.plan->buyer];
    req.actor = Actor::buyer(bs.buyer.id, bs.subject);
    req.client_id = "portal." + bs.buyer.id + "." + std::to_string(a.plan->client);
  }
  if (a.plan) {
    ReturnPlan& p = *a.plan;
    Json args{{"return_id", p.return_id}};
    switch (a.act) {
      case Act::save_draft:
      case Act::submit:
        args["lead_id"] = p.lead_id;
        args["reason"] = std::string(to_string(p.reason));
        if (!p.note.empty()) args["note"] = p.note;
        if (p.drafted_at != 0) args["drafted_at"] = p.drafted_at;
        break;
      case Act::buyer_message:
      case Act::operator_message: {
        const auto& pool = a.act == Act::operator_message ? kOperatorQuestions
                           : p.disputing                  ? kDisputes
                           : rng->chance(0.5)             ? kBuyerReplies
                                                          : kBuyerNudges;
        args["message_id"] = rng->uuid();
        args["body"] = rng->pick(pool);
        break;
      }
      case Act::accept: {
        const double x = rng->unit();
        if (!p.evidence_supports && x < 0.12) {
          // Partial credit: a quarter to three quarters of the price, whole dollars.
          const Money credit = std::max<Money>(
              100, static_cast<Money>(static_cast<double>(p.price) * (0.25 + 0.5 * rng->unit())) /
                       100 * 100);
          args["credit_cents"] = std::min(credit, p.price);
          args["note"] = "Partial credit: the consumer was reached but did not qualify.";
        } else if (x < 0.19) {
          args["charge_back"] = !p.pass_through;  // the operator overrides the supplier default
          args["note"] = p.pass_through ? "Our routing error; the supplier keeps the payout."
                                        : "Charged back to the supplier: clear fraud pattern.";
        } else {
          const std::string& note = rng->pick(kAcceptNotes);
          if (!note.empty()) args["note"] = note;
        }
        break;
      }
      case Act::reject:
        args["note"] = rng->pick(kRejectNotes);
        break;
      case Act::reopen:
        args["note"] = rng->pick(kReopenNotes);
        break;
      default:
        break;
    }
    req.args = std::move(args);
  }
  req.seq = ++seqs_[req.client_id];
  req.client_time = a.at;
  return req;
}

// An operator looks at a pending return: sometimes asks first, then accepts or rejects.
void Generator::plan_review(ReturnPlan& p, Millis from, std::unique_ptr<ReturnPlan> owned) {
  Rng& r = p.rng;
  const double x = r.unit();
  if (!p.reopened && x < 0.04) {
    schedule(from + r.hours(0.3, 8), Act::withdraw, std::move(owned));
  } else if (!p.reopened && x < 0.14) {
    schedule(from + r.hours(1, 20), Act::operator_message, std::move(owned));
  } else if (!p.reopened && x < 0.24) {
    schedule(from + r.hours(0.2, 4), Act::buyer_message, std::move(owned));
  } else {
    const bool accept =
        p.reopened ? !p.after_reopen_reject : r.chance(p.evidence_supports ? 0.95 : 0.74);
    schedule(from + r.hours(0.5, 30), accept ? Act::accept : Act::reject, std::move(owned));
  }
}

Status Generator::follow_up(Action& a, const OpResult& res) {
  if (!a.plan) return Status::Ok();
  ReturnPlan& p = *a.plan;
  Rng& r = p.rng;
  if (!res.applied) return Status::Ok();  // refusals end the story (e.g. a kept draft)
  switch (a.act) {
    case Act::save_draft:
      if (p.discard) {
        schedule(a.at + r.hours(0.1, 24), Act::discard_draft, std::move(a.plan));
      } else {
        schedule(std::max(p.submit_at, a.at + 1), Act::submit, std::move(a.plan));
      }
      break;
    case Act::submit: {
      const ReturnCase* rc = store_.view().find_return(p.return_id);
      if (rc == nullptr)
        return make_error(ErrorCode::INTERNAL, "", "demo: submitted return missing");
      if (rc->state == ReturnState::accepted) {
        // Auto-accepted. Now and then an operator reopens one after a supplier dispute.
        if (r.chance(0.012)) {
          p.reopened = true;
          p.after_reopen_reject = r.chance(0.6);
          schedule(a.at + r.hours(2, 72), Act::reopen, std::move(a.plan));
        }
      } else if (rc->state == ReturnState::pending) {
        plan_review(p, a.at, std::move(a.plan));
      }
      break;
    }
    case Act::operator_message:
      schedule(a.at + r.hours(0.5, 10), Act::buyer_message, std::move(a.plan));
      break;
    case Act::buyer_message: {
      const ReturnCase* rc = store_.view().find_return(p.return_id);
      if (rc != nullptr && rc->state == ReturnState::rejected) {
        // A dispute after a rejection; some get a second look.
        if (r.chance(0.3)) {
          p.reopened = true;
          p.after_reopen_reject = false;
          schedule(a.at + r.hours(2, 24), Act::reopen, std::move(a.plan));
        }
      } else if (rc != nullptr && is_open(rc->state)) {
        const bool accept = r.chance(p.evidence_supports ? 0.95 : 0.7);
        schedule(a.at + r.hours(1, 24), accept ? Act::accept : Act::reject, std::move(a.plan));
      }
      break;
    }
    case Act::reject:
      if (!p.reopened && r.chance(0.08)) {
        p.disputing = true;
        schedule(a.at + r.hours(1, 24), Act::buyer_message, std::move(a.plan));
      }
      break;
    case Act::reopen:
      plan_review(p, a.at, std::move(a.plan));
      break;
    default:
      break;
  }
  return Status::Ok();
}

// Applies every scheduled action before `limit`, in time order, grouped into op_group_ms windows.
Status Generator::apply_due(Millis limit) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Action> group;
  std::vector<OpRequest> reqs;
  while (!heap_.empty() && heap_.front().at < limit) {
    const Millis group_end = heap_.front().at + std::max<Millis>(1, cfg_.op_group_ms);
    group.clear();
    reqs.clear();
    while (!heap_.empty() && heap_.front().at < group_end && heap_.front().at < limit) {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      group.push_back(std::move(heap_.back()));
      heap_.pop_back();
    }
    clock_ = std::max(clock_, group.back().at);
    for (const Action& a : group) reqs.push_back(request_for(a));
    Result<std::vector<OpResult>> res = store_.apply_ops(reqs, clock_);
    if (!res.ok()) return res.error();
    for (std::size_t i = 0; i < group.size(); ++i) {
      const OpResult& r = (*res)[i];
      ++sum_.ops;
      ++sum_.ops_by_kind[reqs[i].op];
      if (r.applied) {
        ++sum_.ops_applied;
      } else {
        ++sum_.refused[r.code ? std::string(to_string(*r.code)) : "?"];
      }
      if (Status s = follow_up(group[i], r); !s.ok()) return s;
    }
  }
  sum_.ops_seconds += seconds_since(t0);
  return Status::Ok();
}

Result<DemoSummary> Generator::run() {
  const auto t0 = std::chrono::steady_clock::now();
  if (cfg_.days < 1 || cfg_.days > 3660 || cfg_.now < cfg_.days * kMillisPerDay ||
      cfg_.ingest_batch < 1) {
    return make_error(ErrorCode::INTERNAL, "", "demo: days, now or ingest_batch out of range.");
  }
  {
    Result<Statement> st = store_.db().prepare("SELECT EXISTS (SELECT 1 FROM leads)");
    if (!st.ok()) return st.error();
    if (st->step() && st->int64(0) != 0) {
      return make_error(ErrorCode::INTERNAL, "", "demo: the store already holds leads.");
    }
  }
  Database& db = store_.db();
  // Loading pragmas, restored on every way out.
  std::int64_t old_sync = 2, old_cache = -2000, old_checkpoint = 1000;
  if (Result<Statement> st = db.prepare("PRAGMA synchronous"); st.ok() && st->step()) {
    old_sync = st->int64(0);
  }
  if (Result<Statement> st = db.prepare("PRAGMA cache_size"); st.ok() && st->step()) {
    old_cache = st->int64(0);
  }
  if (Result<Statement> st = db.prepare("PRAGMA wal_autocheckpoint"); st.ok() && st->step()) {
    old_checkpoint = st->int64(0);
  }
  struct Restore {
    Database& db;
    std::int64_t sync, cache, checkpoint;
    ~Restore() {
      (void)db.exec("PRAGMA synchronous = " + std::to_string(sync));
      (void)db.exec("PRAGMA cache_size = " + std::to_string(cache));
      (void)db.exec("PRAGMA wal_autocheckpoint = " + std::to_string(checkpoint));
    }
  } restore{db, old_sync, old_cache, old_checkpoint};
  // Checkpoint every ~64 MiB of WAL rather than 4 MiB: a page written by many transactions is
  // copied into the database once.
  if (Status s = db.exec("PRAGMA wal_autocheckpoint = 16384"); !s.ok()) return s.error();
  if (cfg_.sync_normal_while_loading) {
    if (Status s = db.exec("PRAGMA synchronous = NORMAL"); !s.ok()) return s.error();
  }
  if (cfg_.cache_mib > 0) {
    if (Status s = db.exec("PRAGMA cache_size = -" + std::to_string(cfg_.cache_mib * 1024));
        !s.ok()) {
      return s.error();
    }
  }

  const std::int64_t last_day = utc_day(cfg_.now - 1);  // the day holding the last millisecond
  const std::int64_t first_day = last_day - cfg_.days + 1;
  change_from_ = (last_day - 6) * kMillisPerDay;
  const Millis setup_at = first_day * kMillisPerDay - kMillisPerHour;
  clock_ = setup_at;
  for (const BuyerSpec& b : w_.buyers) {
    if (Status s = store_.put_buyer(b.buyer, setup_at); !s.ok()) return s.error();
  }
  for (const SupplierSpec& s : w_.suppliers) {
    if (Status st = store_.put_supplier(s.supplier, setup_at); !st.ok()) return st.error();
  }
  for (const CampaignSpec& c : w_.campaigns) {
    if (Status s = store_.put_campaign(c.campaign, setup_at); !s.ok()) return s.error();
  }
  for (std::size_t i = 0; i < w_.changes.size(); ++i) {
    const Millis at = cfg_.now - w_.changes[i].before_now;
    if (at > setup_at) schedule(at, Act::set_policy, nullptr, i);
  }
  recent_contacts_.assign(w_.buyers.size(), {});
  ring_pos_.assign(w_.buyers.size(), 0);

  const std::vector<std::int64_t> counts = day_counts(first_day, last_day);
  std::vector<Lead> leads;
  std::vector<Millis> times;
  for (std::int64_t d = first_day; d <= last_day; ++d) {
    const std::size_t di = static_cast<std::size_t>(d - first_day);
    Rng r = stream(cfg_.seed, 2, static_cast<std::uint64_t>(d));
    const Millis limit = std::min(cfg_.now, (d + 1) * kMillisPerDay);
    times.clear();
    for (std::int64_t i = 0; i < counts[di]; ++i) times.push_back(draw_time(r, d, limit));
    std::sort(times.begin(), times.end());
    leads.clear();
    leads.reserve(times.size());
    std::vector<std::pair<std::size_t, Reason>> to_return;
    for (Millis t : times) {
      bool returns = false;
      Reason reason = Reason::other;
      leads.push_back(make_lead(r, t, &returns, &reason));
      if (returns) to_return.push_back({leads.size() - 1, reason});
    }
    // Ingest in batches (one transaction each), as the platform would post them.
    const auto ti = std::chrono::steady_clock::now();
    for (std::size_t from = 0; from < leads.size();
         from += static_cast<std::size_t>(cfg_.ingest_batch)) {
      const std::size_t n =
          std::min(leads.size() - from, static_cast<std::size_t>(cfg_.ingest_batch));
      const std::span<const Lead> batch(leads.data() + from, n);
      Result<IngestResult> res = store_.ingest_leads(batch, batch.back().delivered_at);
      if (!res.ok()) return res.error();
      if (!res->refused.empty()) return res->refused.front();
      sum_.leads += res->inserted;
    }
    sum_.ingest_seconds += seconds_since(ti);
    for (const auto& [index, why] : to_return) {
      const Lead& l = leads[index];
      std::size_t buyer = 0;
      for (std::size_t b = 0; b < w_.buyers.size(); ++b) {
        if (w_.buyers[b].buyer.id == l.buyer_id) buyer = b;
      }
      // Evidence backs the reason when the lead's own data shows it.
      const Buyer& bb = w_.buyers[buyer].buyer;
      bool supports = false;
      switch (why) {
        case Reason::wrong_vertical: {
          for (const CampaignSpec& c : w_.campaigns) {
            if (c.campaign.id == l.campaign_id) supports = c.campaign.vertical != l.vertical;
          }
          break;
        }
        case Reason::out_of_service_area:
          supports = !bb.coverage.covers(l.state, l.zip);
          break;
        case Reason::tcpa_risk:
          supports = l.tcpa_flag;
          break;
        case Reason::duplicate:
          supports =
              store_.view().delivered_before(l.buyer_id, l.contact_hash, l.id, l.delivered_at);
          break;
        default:
          break;
      }
      plan_return(r, l, buyer, why, supports);
    }
    if (Status s = apply_due(std::min(limit, cfg_.now + 1)); !s.ok()) return s.error();
    if (cfg_.progress) {
      cfg_.progress(DemoProgress{static_cast<int>(d - first_day + 1), cfg_.days, sum_.leads,
                                 sum_.ops, seconds_since(t0)});
    }
  }
  if (Status s = apply_due(cfg_.now + 1); !s.ok()) return s.error();
  heap_.clear();  // what would happen after now does not happen

  if (cfg_.detect_spikes) {
    Result<std::vector<Alert>> alerts = store_.detect_spikes(cfg_.now);
    if (!alerts.ok()) return alerts.error();
    sum_.alerts = std::move(alerts).value();
  }
  if (Result<Statement> st =
          db.prepare("SELECT state, COUNT(*) FROM returns GROUP BY 1 ORDER BY 1");
      st.ok()) {
    while (st->step()) sum_.returns_by_state[st->text(0)] = st->int64(1);
  }
  if (Result<Statement> st = db.prepare("SELECT COUNT(*) FROM ledger"); st.ok() && st->step()) {
    sum_.ledger_entries = st->int64(0);
  }
  if (Result<Statement> st = db.prepare("SELECT COUNT(*) FROM messages"); st.ok() && st->step()) {
    sum_.messages = st->int64(0);
  }
  (void)db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sum_.total_seconds = seconds_since(t0);
  return sum_;
}

}  // namespace

DemoFacts demo_facts() {
  const World& w = world();
  DemoFacts f;
  for (const BuyerSpec& b : w.buyers) f.buyers.push_back(b.buyer);
  for (const SupplierSpec& s : w.suppliers) f.suppliers.push_back(s.supplier);
  for (const CampaignSpec& c : w.campaigns) f.campaigns.push_back(c.campaign);
  const std::array<const char*, 3> names = {"Maria Chen", "Dev Patel", "Sam Okafor"};
  for (std::size_t i = 0; i < w.operators.size(); ++i) {
    f.logins.push_back(DemoLogin{Role::operator_, w.operators[i], "", names[i],
                                 "operator: review queue, policies, reports and alerts"});
  }
  for (const BuyerSpec& b : w.buyers) {
    f.logins.push_back(DemoLogin{Role::buyer, b.subject, b.buyer.id,
                                 b.person + " (" + b.buyer.name + ")", b.about});
  }
  f.quality_drop_supplier = w.suppliers[w.drop_supplier].supplier.id;
  f.intake_change_buyer = w.buyers[w.intake_buyer].buyer.id;
  return f;
}

Result<DemoSummary> generate_demo(Store& store, const DemoConfig& config) {
  Generator g(store, config);
  return g.run();
}

}  // namespace returns::store
