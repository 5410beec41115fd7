package slackfake

import (
	"math"
	"net/http"
	"time"
)

type bucketRule struct {
	perSecond float64
	burst     int
}

// bucket is a token bucket on the injected clock.
type bucket struct {
	tokens       float64
	last         time.Time
	blockedUntil time.Time // the last 429's Retry-After ends here
}

type failure struct {
	code   string // ok:false error code, or
	status int    // an HTTP status
}

type limitState struct {
	channelRule *bucketRule
	methodRules map[string]bucketRule
	buckets     map[string]*bucket
	limited     int
	unhonoured  int
	failures    map[string][]failure
	latency     map[string]time.Duration
	holds       map[string][]*Hold
	overLimit   map[string]bool // teams over the free message limit
}

// Slack's rate limit tiers, per workspace and method, in requests per
// minute (docs.slack.dev, "Rate limits"): Tier 1 1+, Tier 2 20+, Tier 3
// 50+, Tier 4 100+, each allowing short bursts; the fake allows a
// minute's worth at once, then the tier's rate.
const (
	tier1 = 1
	tier2 = 20
	tier3 = 50
	tier4 = 100
)

// methodTiers are the tiers of the methods the fake serves, from each
// method's reference page. chat.postMessage is "special" (about one
// message per second per channel, bursts allowed): see defaultChannelRule.
var methodTiers = map[string]int{
	"apps.connections.open": tier1,
	"conversations.list":    tier2,
	"chat.update":           tier3,
	"chat.unfurl":           tier3,
	"conversations.info":    tier3,
	"conversations.open":    tier3,
	"team.info":             tier3,
	"users.lookupByEmail":   tier3,
	"auth.test":             tier4,
	"chat.postEphemeral":    tier4,
	"dialog.open":           tier4,
	"views.open":            tier4,
	"views.publish":         tier4,
	"views.update":          tier4,
	"users.info":            tier4,
}

// defaultChannelRule is chat.postMessage's limit per channel: one a second,
// with bursts of 3.
var defaultChannelRule = bucketRule{perSecond: 1, burst: 3}

func defaultMethodRules() map[string]bucketRule {
	rules := make(map[string]bucketRule, len(methodTiers))
	for m, perMinute := range methodTiers {
		// Tier 1 tolerates "a small amount of burst behavior": 5 at once.
		rules[m] = bucketRule{perSecond: float64(perMinute) / 60, burst: max(perMinute, 5)}
	}
	return rules
}

// init clears counters, buckets and pending failures; rules, latencies
// and message-limit flags survive (Reset keeps the test's setup).
func (l *limitState) init() {
	if l.methodRules == nil {
		l.methodRules = defaultMethodRules()
		l.channelRule = &bucketRule{perSecond: defaultChannelRule.perSecond, burst: defaultChannelRule.burst}
	}
	if l.latency == nil {
		l.latency = map[string]time.Duration{}
	}
	if l.overLimit == nil {
		l.overLimit = map[string]bool{}
	}
	l.buckets = map[string]*bucket{}
	l.failures = map[string][]failure{}
	l.limited, l.unhonoured = 0, 0
}

// SetChannelRateLimit limits chat.postMessage per channel to perSecond with
// bursts of burst. The default is Slack's: 1 per second, bursts of 3.
// perSecond <= 0 turns the limit off.
func (s *Server) SetChannelRateLimit(perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perSecond <= 0 {
		s.limits.channelRule = nil
		return
	}
	s.limits.channelRule = &bucketRule{perSecond: perSecond, burst: max(burst, 1)}
}

// SetMethodRateLimit limits method per workspace. Every method starts at
// its Slack tier (conversations.list is Tier 2: 20 per minute, as
// SetMethodRateLimit("conversations.list", 20.0/60, 20) would set it).
// perSecond <= 0 removes the limit.
func (s *Server) SetMethodRateLimit(method string, perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perSecond <= 0 {
		delete(s.limits.methodRules, method)
		return
	}
	s.limits.methodRules[method] = bucketRule{perSecond: perSecond, burst: max(burst, 1)}
}

// RateLimitStats counts the 429s with Retry-After the fake sent, and the
// requests that arrived for a limited channel or method before the last
// Retry-After had elapsed. A well-behaved client keeps Unhonoured at 0.
type RateLimitStats struct {
	Limited    int
	Unhonoured int
}

// RateLimitStats returns the counts so far.
func (s *Server) RateLimitStats() RateLimitStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return RateLimitStats{Limited: s.limits.limited, Unhonoured: s.limits.unhonoured}
}

// SetMessageLimitExceeded puts team over a free workspace's message limit:
// chat.postMessage answers 429 without Retry-After and
// message_limit_exceeded until it is turned off.
func (s *Server) SetMessageLimitExceeded(team string, over bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits.overLimit[team] = over
}

// FailNext makes the next call to method answer {"ok":false,"error":code}.
// Failures queue up; each is used once.
func (s *Server) FailNext(method, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits.failures[method] = append(s.limits.failures[method], failure{code: code})
}

// FailNextHTTP makes the next call to method answer with HTTP status
// (a 5xx with an HTML body, as Slack sends; a 429 with Retry-After: 1,
// counted in RateLimitStats.Limited).
func (s *Server) FailNextHTTP(method string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits.failures[method] = append(s.limits.failures[method], failure{status: status})
}

// SetLatency delays every answer to method by d of wall time; 0 removes it.
func (s *Server) SetLatency(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits.latency[method] = d
}

// Hold is a call the fake keeps waiting before it acts on it (HoldNext).
type Hold struct {
	arrived, release chan struct{}
}

// HoldNext makes the next call to method wait, before the fake acts on it,
// until Release: a test can then make things happen while the request is
// on its way, as when Slack answers one request late. ResponseURLMethod
// holds the next post to any response URL.
func (s *Server) HoldNext(method string) *Hold {
	h := &Hold{arrived: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limits.holds == nil {
		s.limits.holds = map[string][]*Hold{}
	}
	s.limits.holds[method] = append(s.limits.holds[method], h)
	return h
}

// Arrived is closed when the held call has arrived.
func (h *Hold) Arrived() <-chan struct{} { return h.arrived }

// Release lets the held call go on.
func (h *Hold) Release() { close(h.release) }

// takeHold returns the hold waiting for the next call to method, if any,
// and marks its call arrived.
func (s *Server) takeHold(method string) *Hold {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.limits.holds[method]
	if len(q) == 0 {
		return nil
	}
	s.limits.holds[method] = q[1:]
	close(q[0].arrived)
	return q[0]
}

func (s *Server) latency(method string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits.latency[method]
}

func (s *Server) takeFailure(method string) *result {
	q := s.limits.failures[method]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	s.limits.failures[method] = q[1:]
	if f.code != "" {
		return errResult(f.code)
	}
	if f.status == http.StatusTooManyRequests {
		s.limits.limited++
		r := errResult("ratelimited")
		r.status, r.retryAfter = f.status, 1
		return r
	}
	return &result{status: f.status, text: "<html><body>" + http.StatusText(f.status) + "</body></html>"}
}

// take spends one request from the bucket at key, or answers 429.
func (s *Server) take(key string, rule bucketRule) *result {
	now := s.now()
	b := s.limits.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(rule.burst), last: now}
		s.limits.buckets[key] = b
	}
	if now.Before(b.blockedUntil) {
		s.limits.unhonoured++
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(float64(rule.burst), b.tokens+el*rule.perSecond)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := max(int(math.Ceil((1-b.tokens)/rule.perSecond)), 1)
	b.blockedUntil = now.Add(time.Duration(wait) * time.Second)
	s.limits.limited++
	r := errResult("ratelimited")
	r.status, r.retryAfter = http.StatusTooManyRequests, wait
	return r
}

func (s *Server) methodRateLimit(tok *tokenState, method string) *result {
	rule, ok := s.limits.methodRules[method]
	if !ok {
		return nil
	}
	return s.take("m:"+tok.TeamID+":"+method, rule)
}

// postLimits applies the free-plan message limit and the per-channel rate
// limit to chat.postMessage.
func (s *Server) postLimits(team, channel string) *result {
	if s.limits.overLimit[team] {
		r := errResult("message_limit_exceeded")
		r.status = http.StatusTooManyRequests
		return r
	}
	if s.limits.channelRule == nil {
		return nil
	}
	return s.take("c:"+team+":"+channel, *s.limits.channelRule)
}

// RaiseRateLimits multiplies every rate limit (the tiers and the channel
// limit) and its burst by factor, for a test that needs speed more than
// Slack's pacing; it says so by calling this.
func (s *Server) RaiseRateLimits(factor float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for m, r := range s.limits.methodRules {
		s.limits.methodRules[m] = bucketRule{perSecond: r.perSecond * factor, burst: max(int(float64(r.burst)*factor), 1)}
	}
	if r := s.limits.channelRule; r != nil {
		s.limits.channelRule = &bucketRule{perSecond: r.perSecond * factor, burst: max(int(float64(r.burst)*factor), 1)}
	}
}
