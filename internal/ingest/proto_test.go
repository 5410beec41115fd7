package ingest

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/tidwall/gjson"
)

func BenchmarkProtoGjson(b *testing.B) {
	payload := bytes.Split(benchFixture(b), []byte("\n"))[2]
	for b.Loop() {
		if !json.Valid(payload) {
			b.Fatal()
		}
		root := gjson.Parse(string(payload))
		n := 0
		root.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "exception":
				v.ForEach(func(_, e gjson.Result) bool {
					e.ForEach(func(k2, f gjson.Result) bool {
						if k2.Str == "stacktrace" {
							f.Get("frames").ForEach(func(_, fr gjson.Result) bool {
								fr.ForEach(func(k3, x gjson.Result) bool {
									if k3.Str == "pre_context" {
										x.ForEach(func(_, l gjson.Result) bool { n += len(l.Str); return true })
									}
									n += len(x.Str)
									return true
								})
								return true
							})
						} else {
							n += len(f.Str)
						}
						return true
					})
					return true
				})
			default:
				n += len(v.Str)
			}
			return true
		})
	}
}

func BenchmarkProtoJsontext(b *testing.B) {
	payload := bytes.Split(benchFixture(b), []byte("\n"))[2]
	for b.Loop() {
		dec := jsontext.NewDecoder(bytes.NewReader(payload))
		n := 0
		var walk func() error
		walk = func() error {
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			switch tok.Kind() {
			case '{', '[':
				end := jsontext.Kind('}')
				if tok.Kind() == '[' {
					end = ']'
				}
				for dec.PeekKind() != end {
					if err := walk(); err != nil {
						return err
					}
				}
				_, err = dec.ReadToken()
				return err
			case '"':
				n += len(tok.String())
			}
			return nil
		}
		if err := walk(); err != nil {
			b.Fatal(err)
		}
	}
}
