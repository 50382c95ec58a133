// Boots GraphiQL against this gateway's /graphql endpoint (same origin: the page and the API are
// served together, so no CORS is involved). The first tab signs alice in to the demo's sandbox
// JIRA (`make run` / `jira-gateway demo`: sandbox site a on port 8081); the second reads with the
// token it returns.
(function () {
  "use strict";
  // The demo's sandbox JIRA listens on the same host as the gateway, port 8081.
  var demoSite = window.location.protocol + "//" + window.location.hostname + ":8081";
  var loginQuery = [
    "# Welcome to the JIRA GraphQL gateway.",
    "#",
    "# 1. Run this mutation (play button or",
    "#    Ctrl+Enter): it signs alice in to the",
    "#    demo JIRA with her API token.",
    "# 2. Copy accessToken from the result into",
    "#    the Headers of the second tab (Me).",
    "# The Docs panel (top left) describes every",
    "# type, field and argument.",
    "",
    "mutation Login($input: LoginInput!) {",
    "  login(input: $input) {",
    "    accessToken",
    "    refreshToken",
    "    expiresAt",
    "    user { displayName email }",
    "    site { id url flavor }",
    "  }",
    "}",
    "",
  ].join("\n");
  var loginVariables = JSON.stringify(
    {
      input: {
        siteUrl: demoSite,
        email: "alice@example.com",
        apiToken: "alice-token",
        label: "GraphiQL",
      },
    },
    null,
    2
  );
  var viewerQuery = [
    "# Put the accessToken of the login result",
    "# into the Headers tab below.",
    "",
    "query Me {",
    "  viewer {",
    "    user { displayName }",
    "    sites { url }",
    "    scopes",
    "  }",
    "}",
    "",
  ].join("\n");
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: loginQuery,
      variables: loginVariables,
      defaultTabs: [
        { query: loginQuery, variables: loginVariables },
        { query: viewerQuery, headers: "{\n  \"Authorization\": \"Bearer <accessToken>\"\n}" },
      ],
      defaultHeaders: "{}",
      shouldPersistHeaders: true,
      plugins: [explorer],
      defaultEditorToolsVisibility: "variables",
    })
  );
})();
