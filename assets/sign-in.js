/* A request refused for want of a session (it expired, or the user signed out
   in another tab) sends the page to the sign-in form, which brings the user
   back here afterwards. */
(function () {
  const fetchOriginal = window.fetch;
  window.fetch = function () {
    return fetchOriginal.apply(this, arguments).then(function (response) {
      if (response.status === 401) {
        const here = window.location.pathname + window.location.search;
        window.location.assign('/login?next=' + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
