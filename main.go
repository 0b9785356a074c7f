// Command gateway is the LeadLex API gateway: the HTTP server for
// data.leadlex.com's /functions/v1/api-gateway and its operator commands.
package main

import (
	"os"

	"github.com/leadlex/api-gateway/gateway/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
