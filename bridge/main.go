// baton-miro-bridge runs miro-connector under ConductorOne's own runner (baton-sdk v0.25.0): every
// baton flag and mode (one-shot `.c1z` syncs and writes, service mode against a tenant, workers,
// targeted syncs, `capabilities`, `health-check`, BATON_ variables, the YAML file), with a
// connector that forwards each RPC to the miro-connector daemon at --connector-addr.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/conductorone/baton-sdk/pkg/config"
	"github.com/conductorone/baton-sdk/pkg/field"
	"github.com/conductorone/baton-sdk/pkg/types"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

var version = "dev"

// defaultWorkers is the bridge's --workers when none is given (baton's own default is 0, one call
// at a time): see docs/performance.md for the figures behind it.
const defaultWorkers = 16

var (
	addrField = field.StringField("connector-addr", field.WithRequired(true),
		field.WithDescription("Address (host:port) of the miro-connector daemon"))
	caField = field.StringField("connector-ca",
		field.WithDescription("CA certificate (PEM) that signed the daemon's certificate: turns TLS on"))
	certField = field.StringField("connector-cert",
		field.WithDescription("Client certificate (PEM) for mutual TLS with the daemon"))
	keyField = field.StringField("connector-key",
		field.WithDescription("Client private key (PEM) for mutual TLS with the daemon"))
	serverNameField = field.StringField("connector-server-name",
		field.WithDescription("Name to verify the daemon's certificate against (default: the host of --connector-addr); turns TLS on"))
	waitField = field.StringField("connector-wait", field.WithDefaultValue("60s"),
		field.WithDescription("How long one call waits for an unreachable daemon before it fails"))
)

func newConnector(ctx context.Context, v *viper.Viper) (types.ConnectorServer, error) {
	s, err := settingsFrom(v)
	if err != nil {
		return nil, err
	}
	return dialDaemon(ctx, s)
}

func main() {
	ctx := context.Background()
	schema := field.NewConfiguration(
		[]field.SchemaField{addrField, caField, certField, keyField, serverNameField, waitField},
		field.WithConstraints(field.FieldsRequiredTogether(certField, keyField)),
	)
	v, cmd, err := config.DefineConfiguration(ctx, "baton-miro-bridge", newConnector, schema)
	if err != nil {
		fmt.Fprintln(os.Stderr, "baton-miro-bridge:", err)
		os.Exit(1)
	}
	cmd.Version = version
	// A different default, not a different flag: --workers, BATON_WORKERS and the YAML file still win.
	if f := cmd.PersistentFlags().Lookup("workers"); f != nil {
		_ = f.Value.Set(strconv.Itoa(defaultWorkers))
		f.DefValue = strconv.Itoa(defaultWorkers)
	}
	// Service mode (a client id) runs the runner under a supervisor that starts it again when it
	// exits on an error (supervise.go); the runner it starts, one-shot runs and subcommands run as
	// baton runs them.
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if v.GetString("client-id") == "" || os.Getenv(supervisedEnv) != "" {
			return run(c, args)
		}
		os.Exit(supervise())
		return nil
	}
	// baton's command silences its errors, so a refusal (a bad flag, an unreachable TLS file, a
	// plaintext address off loopback) would end the process without a word: say why, in one line.
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "baton-miro-bridge:", oneLine(err))
		os.Exit(1)
	}
}

// oneLine is an error as one line of text.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
