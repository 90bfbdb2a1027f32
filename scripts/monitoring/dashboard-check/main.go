// dashboard-check loads a Grafana dashboard JSON the strict way, with the Grafana Foundation
// SDK's generated model (UnmarshalJSONStrict: required fields present, types right, no unknown
// fields anywhere; panel options decoded by each panel plugin's own type, targets by the
// Prometheus data query's). Exit 0 and one line when it loads; exit 1 with every complaint.
//
//	dashboard-check <dashboard.json>
//
// The PromQL inside the targets is not judged here: the caller parses it with promtool.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dashboard-check <dashboard.json>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	plugins.RegisterDefaultPlugins()
	var d dashboard.Dashboard
	if err := d.UnmarshalJSONStrict(raw); err != nil {
		// The generated decoders return their list of errors as an error value even when the
		// list is empty (v0.0.22): an empty list is a clean load.
		var list cog.BuildErrors
		if !errors.As(err, &list) || len(list) > 0 {
			fmt.Fprintf(os.Stderr, "the dashboard does not load: %v\n", err)
			os.Exit(1)
		}
	}
	title := ""
	if d.Title != nil {
		title = *d.Title
	}
	fmt.Printf("dashboard %q loads: %d panels, %d variables\n", title, len(d.Panels), len(d.Templating.List))
}
