"""One spider per platform: portal, wechat, weibo, feed."""
