package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func parseTest(t *testing.T, body string) *Event {
	t.Helper()
	ev, err := ParseStore([]byte(body), time.Now())
	if err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	return ev
}

// jsEvent is a TypeError from a browser: frames is the JSON list, oldest
// call first.
func jsEvent(value, frames string) string {
	return `{"platform":"javascript","exception":{"values":[{"type":"TypeError","value":` + fmt.Sprintf("%q", value) +
		`,"mechanism":{"type":"onerror","handled":false},"stacktrace":{"frames":[` + frames + `]}}]}}`
}

// TestGroupingAcrossBrowsers: one JavaScript error reported by Chrome,
// Firefox, Safari and Edge, and from another deployment of the same code,
// is one issue; another function failing is another.
func TestGroupingAcrossBrowsers(t *testing.T) {
	t.Parallel()
	const js = `https://cdn.example.com/static/js/main.3f2a9c1e.js`
	browsers := map[string]string{
		"chrome": jsEvent("Cannot read properties of undefined (reading 'price')",
			`{"filename":"`+js+`?v=7","function":"HTMLButtonElement.<anonymous>","lineno":1,"colno":100,"in_app":true},
			 {"filename":"`+js+`?v=7","function":"Object.submitOrder","lineno":1,"colno":2000,"in_app":true},
			 {"filename":"<anonymous>","function":"new Promise","in_app":true},
			 {"filename":"`+js+`?v=7","function":"Array.forEach","lineno":1,"colno":2500,"in_app":true},
			 {"filename":"[native code]","function":"Array.forEach","in_app":true},
			 {"filename":"`+js+`?v=7","function":"Cart.validateCart [as validate]","lineno":1,"colno":3000,"in_app":true}`),
		"firefox": jsEvent("item is undefined",
			`{"filename":"`+js+`","function":"setup/<","lineno":1,"colno":99,"in_app":true},
			 {"filename":"`+js+`","function":"submitOrder","lineno":1,"colno":1999,"in_app":true},
			 {"filename":"`+js+`","function":"forEach","lineno":1,"colno":2499,"in_app":true},
			 {"filename":"`+js+`","function":"Cart.prototype.validateCart","lineno":1,"colno":2999,"in_app":true}`),
		"safari": jsEvent("undefined is not an object (evaluating 'item.price')",
			`{"filename":"`+js+`#top","function":"global code","lineno":1,"in_app":true},
			 {"filename":"`+js+`#top","function":"submitOrder","lineno":1,"colno":2001,"in_app":true},
			 {"filename":"`+js+`#top","function":"forEach","lineno":1,"in_app":true},
			 {"filename":"[native code]","function":"forEach","in_app":true},
			 {"filename":"`+js+`#top","function":"validateCart","lineno":1,"colno":3001,"in_app":true}`),
		"edge": jsEvent("Unable to get property 'price' of undefined or null reference",
			`{"filename":"eval code","function":"eval code","lineno":1,"in_app":true},
			 {"filename":"`+js+`","function":"Anonymous function","lineno":1,"in_app":true},
			 {"filename":"`+js+`","function":"Object.submitOrder","lineno":1,"colno":2000,"in_app":true},
			 {"filename":"`+js+`","function":"Array.prototype.forEach","lineno":1,"in_app":true},
			 {"filename":"`+js+`","function":"async validateCart","lineno":1,"colno":3000,"in_app":true}`),
		"next deployment": jsEvent("item is undefined",
			`{"filename":"https://www.example.com/v2.4.0/static/js/main.8b1d44f0.js","function":"submitOrder","in_app":true},
			 {"filename":"https://www.example.com/v2.4.0/static/js/main.8b1d44f0.js","function":"forEach","in_app":true},
			 {"filename":"https://www.example.com/v2.4.0/static/js/main.8b1d44f0.js","function":"validateCart","in_app":true}`),
	}
	want := parseTest(t, browsers["chrome"]).GroupingHash()
	for name, body := range browsers {
		ev := parseTest(t, body)
		if got := ev.GroupingHash(); got != want {
			comps, _ := ev.componentsV2()
			t.Errorf("%s: another issue than Chrome's; hashed %q", name, comps)
		}
	}
	other := parseTest(t, jsEvent("x", `{"filename":"`+js+`","function":"submitOrder","in_app":true},
		{"filename":"`+js+`","function":"validateAddress","in_app":true}`))
	if other.GroupingHash() == want {
		t.Error("an error in another function groups with the first")
	}
	if v1 := parseTest(t, browsers["firefox"]).GroupingHashV1(); v1 == parseTest(t, browsers["chrome"]).GroupingHashV1() {
		t.Error("version 1 already grouped the browsers together: the test proves nothing")
	}
}

// aggregate is a .NET AggregateException wrapping inner, thrown from the
// same place each time.
func aggregate(innerType, innerFunc string) string {
	outer := `{"module":"myWebApp.Pages.OrdersModel","function":"OnPost","filename":"/app/Pages/Orders.cshtml.cs","lineno":40,"in_app":true}`
	return `{"platform":"csharp","exception":{"values":[
		{"type":"` + innerType + `","value":"inner failure","module":"System.Private.CoreLib","stacktrace":{"frames":[
			{"module":"myWebApp.Services.Orders","function":"` + innerFunc + `","filename":"/app/Services/Orders.cs","lineno":12,"in_app":true}]}},
		{"type":"System.AggregateException","value":"One or more errors occurred.","module":"System.Private.CoreLib","stacktrace":{"frames":[` + outer + `]}}]}}`
}

// TestGroupingAggregateExceptions: .NET AggregateExceptions with different
// inner exceptions are different issues, as in Sentry; the same one twice
// is one.
func TestGroupingAggregateExceptions(t *testing.T) {
	t.Parallel()
	events := []*Event{
		parseTest(t, aggregate("System.Threading.Tasks.TaskCanceledException", "Reserve")),
		parseTest(t, aggregate("System.Net.Http.HttpRequestException", "Charge")),
		parseTest(t, aggregate("System.InvalidOperationException", "Ship")),
	}
	seen := map[string]int{}
	for i, ev := range events {
		if ev.Title() != "System.AggregateException: One or more errors occurred." {
			t.Errorf("event %d: title %q", i, ev.Title())
		}
		if j, ok := seen[ev.GroupingHash()]; ok {
			t.Errorf("aggregate exceptions %d and %d group together", j, i)
		}
		seen[ev.GroupingHash()] = i
	}
	again := parseTest(t, aggregate("System.Net.Http.HttpRequestException", "Charge"))
	if again.GroupingHash() != events[1].GroupingHash() {
		t.Error("the same aggregate exception twice makes two issues")
	}
	if events[0].GroupingHashV1() != events[1].GroupingHashV1() {
		t.Error("version 1 already told them apart: the test proves nothing")
	}
}

// TestGroupingThreadsAndStacktrace: stacks sent outside an exception
// (Cocoa's and Android's threads, attach_stacktrace, Elixir) group.
func TestGroupingThreadsAndStacktrace(t *testing.T) {
	t.Parallel()
	thread := func(crashedFn, otherFn string) string {
		return `{"platform":"cocoa","threads":{"values":[
			{"id":1,"current":false,"stacktrace":{"frames":[{"function":"` + otherFn + `","package":"UIKit","in_app":false}]}},
			{"id":0,"crashed":true,"stacktrace":{"frames":[{"function":"main","in_app":true,"filename":"main.m"},
				{"function":"` + crashedFn + `","in_app":true,"filename":"Cart.m","lineno":` + fmt.Sprint(len(crashedFn)) + `}]}}]}}`
	}
	a, b, c := parseTest(t, thread("-[Cart checkout]", "runLoop")), parseTest(t, thread("-[Cart checkout]", "idle")), parseTest(t, thread("-[Cart refund]", "runLoop"))
	if a.GroupingHash() != b.GroupingHash() {
		t.Error("the same crashed thread in two events makes two issues")
	}
	if a.GroupingHash() == c.GroupingHash() {
		t.Error("crashes in different functions make one issue")
	}
	if r := a.GroupingReason(); !strings.Contains(r, "-[Cart checkout]") {
		t.Errorf("reason %q does not name the frame", r)
	}
	if a.GroupingHashV1() != c.GroupingHashV1() {
		t.Error("version 1 already told them apart: the test proves nothing")
	}
	top := func(fn string) string {
		return `{"platform":"elixir","exception":{"values":[{"type":"UndefinedFunctionError","value":"v"}]},
			"stacktrace":{"frames":[{"module":"MyApp.Router","function":"` + fn + `","filename":"lib/router.ex","in_app":true}]}}`
	}
	if parseTest(t, top("call/2")).GroupingHash() == parseTest(t, top("dispatch/2")).GroupingHash() {
		t.Error("a top-level stacktrace does not count")
	}
}

func TestJSFile(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://cdn.example.com/static/js/main.3f2a9c1e.js?v=7#x": "static/js/main.js",
		"http://localhost:8080/dist/bundle.js":                     "dist/bundle.js",
		"webpack:///./src/index.js":                                "src/index.js",
		"/assets/1.2.3/lib/app.min.js":                             "assets/lib/app.min.js",
		"https://x.test/v2/app.js":                                 "app.js",
		"app:///main.js":                                           "main.js",
		"/static/chunk-vendors.js":                                 "static/chunk-vendors.js",
	} {
		if got := jsFile(in); got != want {
			t.Errorf("jsFile(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSFunction(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Object.submitOrder": "submitOrder", "HTMLButtonElement.onclick": "onclick", "new Cart": "Cart",
		"async load": "load", "outer/inner": "inner", "outer/<": "", "?": "", "<anonymous>": "",
		"Cart.validate [as check]": "validate", "global code": "", "Anonymous function": "", "fn@": "fn",
		"Object.<anonymous>": "",
	} {
		if got := jsFunction(in); got != want {
			t.Errorf("jsFunction(%q) = %q, want %q", in, got, want)
		}
	}
}
