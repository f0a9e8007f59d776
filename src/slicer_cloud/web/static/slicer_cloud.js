// Browser helpers of the slicer-cloud viewer: uploads to the data root over HTTP (with the XSRF header).
window.slicerCloud = {
  xsrf() {
    const m = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  },
  async upload(files, dir) {
    let count = 0;
    for (const file of Array.from(files || [])) {
      const path = (dir ? dir + "/" : "") + file.name;
      const response = await fetch("api/v1/files/upload?path=" + encodeURIComponent(path), {
        method: "PUT",
        body: file,
        credentials: "same-origin",
        headers: { "X-XSRF-Token": this.xsrf() },
      });
      if (!response.ok) {
        const body = await response.json().catch(() => ({ message: response.statusText }));
        throw new Error(file.name + ": " + body.message);
      }
      count += 1;
    }
    return count;
  },
  downloadUrl(path) {
    return "api/v1/files/download?path=" + encodeURIComponent(path);
  },
};
