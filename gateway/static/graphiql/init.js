// Boots GraphiQL against this gateway's /graphql endpoint (same origin: the page and the API are
// served together, so no CORS is involved).
(function () {
  "use strict";
  var defaultQuery = [
    "# Welcome to the JIRA GraphQL gateway.",
    "#",
    "# Run a query with the play button (or Ctrl+Enter).",
    "# The Docs panel (top left) describes every type,",
    "# field and argument.",
    "#",
    "# Reading JIRA data needs a gateway access token.",
    "# Put it in the Headers tab below:",
    "#   {\"Authorization\": \"Bearer <accessToken>\"}",
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
      defaultHeaders: "{}",
      shouldPersistHeaders: true,
      plugins: [explorer],
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
