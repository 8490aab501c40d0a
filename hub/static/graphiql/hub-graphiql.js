// GraphiQL for the Ordering Hub, with a login helper. Loaded by hub/static/graphiql.html after
// React, ReactDOM and GraphiQL (all served by the hub itself).
//
// Logging in calls tokenCreate and puts "Authorization: Bearer <token>" into GraphiQL's Headers
// editor. The token stays in this page's memory: it is not written to storage
// (shouldPersistHeaders is false), never put in the address, and never logged.
(function () {
  "use strict";

  // The page is served at the GraphQL endpoint itself (GET with Accept: text/html).
  var endpoint = window.location.pathname;
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  var mounts = 0;
  var LOGIN =
    "mutation HubGraphiQLLogin($email: String!, $password: String!) {" +
    " tokenCreate(email: $email, password: $password) { token errors { message } } }";

  // GraphiQL reads `headers` when it mounts: a new key mounts it again with the new headers (the
  // query editor's text is kept in GraphiQL's storage and comes back).
  function show(headers) {
    mounts += 1;
    root.render(
      React.createElement(GraphiQL, {
        key: "graphiql-" + mounts,
        fetcher: fetcher,
        headers: headers,
        shouldPersistHeaders: false,
      })
    );
  }

  function status(text, isError) {
    var el = document.getElementById("hub-login-status");
    el.textContent = text;
    el.className = isError ? "hub-error" : "";
  }

  var form = document.getElementById("hub-login-form");
  var email = document.getElementById("hub-email");
  var password = document.getElementById("hub-password");
  var logout = document.getElementById("hub-logout");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    status("Logging in…", false);
    fetch(endpoint, {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ query: LOGIN, variables: { email: email.value, password: password.value } }),
    })
      .then(function (response) {
        return response.json();
      })
      .then(function (body) {
        password.value = "";
        var answer = body && body.data && body.data.tokenCreate;
        if (answer && answer.token) {
          show(JSON.stringify({ Authorization: "Bearer " + answer.token }, null, 2));
          logout.hidden = false;
          status("Logged in as " + email.value + ": the Authorization header is in the Headers tab below.", false);
          return;
        }
        var problems = (answer && answer.errors) || (body && body.errors) || [];
        status((problems[0] && problems[0].message) || "Logging in failed.", true);
      })
      .catch(function () {
        password.value = "";
        status("The hub could not be reached.", true);
      });
  });

  logout.addEventListener("click", function () {
    logout.hidden = true;
    show("");
    status("Logged out: calls run as anonymous.", false);
  });

  show(undefined);
})();
