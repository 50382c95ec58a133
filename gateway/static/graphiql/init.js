// Boots GraphiQL against this gateway's /graphql endpoint (same origin: the page and the API are
// served together, so no CORS is involved).
(function () {
  "use strict";
  var defaultQuery = [
    "# Welcome to the JIRA GraphQL gateway.",
    "#",
    "# Run the query below with the play button (or Ctrl+Enter).",
    "# Queries that read JIRA data need a gateway access token: send it in the",
    "# Headers tab below as  {\"Authorization\": \"Bearer <accessToken>\"}.",
    "# The Docs panel (top left) documents every type, field and argument.",
    "",
    "query AboutThisGateway {",
    "  gateway {",
    "    version",
    "    mode",
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
      defaultQuery: defaultQuery,
      defaultHeaders: '{\n  "Authorization": "Bearer <accessToken>"\n}',
      shouldPersistHeaders: true,
      plugins: [explorer],
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
