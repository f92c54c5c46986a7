// GraphiQL's start, in the browser (served by src/http/graphiql.ts as <assets>/boot.js). It runs
// before the GraphiQL bundle, which renders once the page is parsed.
(function () {
  'use strict';
  var options = JSON.parse(document.getElementById('graphiql-options').textContent);
  var assets = options.assets;
  delete options.assets;

  // Monaco's workers are files of this server, not blobs fetched from a CDN.
  var workers = {
    editorWorkerService: assets + 'editor.worker.js',
    json: assets + 'json.worker.js',
    graphql: assets + 'graphql.worker.js',
  };
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (_moduleId, label) {
      return workers[label] || workers.editorWorkerService;
    },
  };

  // Earlier versions prefilled a placeholder key that GraphiQL kept in this browser's storage;
  // sent with the introspection query, it failed it.
  try {
    for (var i = localStorage.length - 1; i >= 0; i--) {
      var key = localStorage.key(i);
      if (key && key.indexOf('graphiql') === 0 && (localStorage.getItem(key) || '').indexOf('paste the key printed at first start') >= 0) {
        localStorage.removeItem(key);
      }
    }
  } catch (e) {
    // storage unavailable: nothing was kept either
  }

  document.addEventListener('DOMContentLoaded', function () {
    var root = document.getElementById('root');
    root.textContent = '';
    self.YogaGraphiQL.renderYogaGraphiQL(root, options);
  });
})();
