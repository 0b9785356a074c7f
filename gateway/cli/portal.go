package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/leadlex/api-gateway/config"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/apikeys"
	"github.com/leadlex/api-gateway/gateway/server"
	"github.com/leadlex/api-gateway/routes/portal"
)

// printPortalLink mints a read-write portal link of the development key
// (its child: revoked with it, 24 hours at most) and prints it, so that
// `make run` opens the webhook portal with one click.
func printPortalLink(ctx context.Context, app *server.App, cfg *config.Config, parent *apikeys.Key, w io.Writer) error {
	caller := &gateway.Principal{KeyID: parent.ID, WorkspaceID: parent.WorkspaceID, Permissions: parent.Permissions,
		Plan: parent.Plan, Tier: parent.Tier, ExpiresAt: parent.ExpiresAt}
	k, plain, err := app.Keys.CreatePortalSession(ctx, caller, apikeys.PortalReadWrite, apikeys.PortalMaxTTL)
	if err != nil {
		return fmt.Errorf("create development portal link: %w", err)
	}
	origin := cfg.PublicBaseURL
	if origin == "" {
		origin = fmt.Sprintf("http://localhost:%d", cfg.Port)
	}
	fmt.Fprintf(w, "  Webhook portal (read-write, valid until %s; the key is in the #fragment):\n\n    %s\n\n",
		k.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"), portal.Link(origin, cfg.BasePath, plain))
	return nil
}
