package eventview

import (
	"html/template"
	"strconv"
	"strings"
)

// Frames are written by hand rather than by the template: a 1 MiB event
// holds thousands of them, and html/template's per-action calls made them
// most of the page's time. Everything variable goes through
// template.HTMLEscapeString.

func esc(b *strings.Builder, s string) { b.WriteString(template.HTMLEscapeString(s)) }

// framesHTML renders frames as an ordered list.
func framesHTML(frames []frameView) template.HTML {
	var b strings.Builder
	b.Grow(len(frames) * 256)
	b.WriteString(`<ol class="frames">`)
	for i := range frames {
		writeFrame(&b, &frames[i])
	}
	b.WriteString("</ol>")
	return template.HTML(b.String())
}

func writeFrame(b *strings.Builder, f *frameView) {
	b.WriteString(`<li class="frame`)
	if f.InApp {
		b.WriteString(` in-app`)
	}
	b.WriteString(`"><div class="frame-head"><span class="file">`)
	esc(b, f.File)
	b.WriteString(`</span>`)
	if f.Function != "" {
		b.WriteString(` in <code class="function">`)
		esc(b, f.Function)
		b.WriteString(`</code>`)
	}
	if f.Line != 0 {
		b.WriteString(` at line <span class="line">`)
		b.WriteString(strconv.Itoa(f.Line))
		if f.Col != 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(f.Col))
		}
		b.WriteString(`</span>`)
	}
	if f.InApp {
		b.WriteString(` <span class="badge">in app</span>`)
	}
	b.WriteString(`</div>`)
	if len(f.Context) > 0 {
		b.WriteString(`<pre class="context">`)
		for _, l := range f.Context {
			if l.Error {
				b.WriteString(`<span class="error-line"><span class="ln">`)
			} else {
				b.WriteString(`<span class="ctx-line"><span class="ln">`)
			}
			if l.N != 0 {
				b.WriteString(strconv.Itoa(l.N))
			}
			if l.Error {
				b.WriteString("</span>&#x25B6; ")
			} else {
				b.WriteString("</span>  ")
			}
			esc(b, l.Text)
			b.WriteString("</span>\n")
		}
		b.WriteString(`</pre>`)
	}
	b.WriteString("</li>\n")
}
