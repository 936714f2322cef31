// The page's one WebSocket to its own session on the server (reconnects if it drops).

export class Socket {
  constructor(onMessage, onStatus, onOpen) {
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onOpen = onOpen;
    this.ws = null;
    this.retry = 500;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // await_config: the server sends data and a frame only for the setup the page sends
    // first (from its URL), not the default circle's first
    const ws = new WebSocket(`${scheme}://${location.host}/ws?await_config=1`);
    this.ws = ws;
    this.onStatus("connecting");
    ws.addEventListener("open", () => {
      this.retry = 500;
      this.onStatus("open");
      this.onOpen();
    });
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(message);
    });
    ws.addEventListener("close", () => {
      this.onStatus("closed");
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(8000, this.retry * 2);
    });
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }
}
