// The dashboard's cards open the rows behind them (db/plugins/desk.py serves this as /-/desk/dashboard.js).
// A metric card goes to its chart's `drilldown` list with the dashboard's filters carried over; the bars of
// a chart carry their own link (the `drill` field of its query, vega-lite `href`).
(function () {
  function withFilters(path) {
    const here = new URLSearchParams(window.location.search)
    const url = new URL(path, window.location.origin)
    for (const key of ['region', 'level']) {
      const value = here.get(key)
      if (value) url.searchParams.set(key, value)
    }
    return url.pathname + url.search
  }

  function enhance() {
    const drill = window.DESK_DRILLDOWN || {}
    for (const [slug, path] of Object.entries(drill)) {
      const card = document.getElementById('card-' + slug)
      if (!card) continue
      const target = withFilters(path)
      card.classList.add('desk-drill')
      card.dataset.drill = target
      const title = card.querySelector('.dashboard-card-title a')
      if (title) title.href = target
      const more = document.createElement('a')
      more.href = target
      more.className = 'desk-drill-link'
      more.textContent = '查看明细 →'
      const titleBox = card.querySelector('.dashboard-card-title p')
      if (titleBox) { titleBox.appendChild(document.createTextNode(' ')); titleBox.appendChild(more) }
      card.addEventListener('click', (event) => {
        if (event.target.closest('a')) return
        window.location.href = target
      })
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', enhance)
  else enhance()
})()
