"use strict";(self.rspackChunknebula_jupyter=self.rspackChunknebula_jupyter||[]).push([[266],{739(e,t,r){var o=r(601),n=r.n(o),a=r(314),i=(r.n(a))()(n());i.push([e.id,`/**
 * Copyright (c) 2014 The xterm.js authors. All rights reserved.
 * Copyright (c) 2012-2013, Christopher Jeffrey (MIT License)
 * https://github.com/chjj/term.js
 * @license MIT
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal
 * in the Software without restriction, including without limitation the rights
 * to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 * copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in
 * all copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 * FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 * AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 * LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 * OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 * THE SOFTWARE.
 *
 * Originally forked from (with the author's permission):
 *   Fabrice Bellard's javascript vt100 for jslinux:
 *   http://bellard.org/jslinux/
 *   Copyright (c) 2011 Fabrice Bellard
 *   The original design remains. The terminal itself
 *   has been extended to include xterm CSI codes, among
 *   other features.
 */

/**
 *  Default styles for xterm.js
 */

.xterm {
    cursor: text;
    position: relative;
    user-select: none;
    -ms-user-select: none;
    -webkit-user-select: none;
}

.xterm.focus,
.xterm:focus {
    outline: none;
}

.xterm .xterm-helpers {
    position: absolute;
    top: 0;
    /**
     * The z-index of the helpers must be higher than the canvases in order for
     * IMEs to appear on top.
     */
    z-index: 5;
}

.xterm .xterm-helper-textarea {
    padding: 0;
    border: 0;
    margin: 0;
    /* Move textarea out of the screen to the far left, so that the cursor is not visible */
    position: absolute;
    opacity: 0;
    left: -9999em;
    top: 0;
    width: 0;
    height: 0;
    z-index: -5;
    /** Prevent wrapping so the IME appears against the textarea at the correct position */
    white-space: nowrap;
    overflow: hidden;
    resize: none;
}

.xterm .composition-view {
    /* TODO: Composition position got messed up somewhere */
    background: #000;
    color: #FFF;
    display: none;
    position: absolute;
    white-space: nowrap;
    z-index: 1;
}

.xterm .composition-view.active {
    display: block;
}

.xterm .xterm-viewport {
    /* On OS X this is required in order for the scroll bar to appear fully opaque */
    background-color: #000;
    overflow-y: scroll;
    cursor: default;
    position: absolute;
    right: 0;
    left: 0;
    top: 0;
    bottom: 0;
}

.xterm .xterm-screen {
    position: relative;
}

.xterm .xterm-screen canvas {
    position: absolute;
    left: 0;
    top: 0;
}

.xterm-char-measure-element {
    display: inline-block;
    visibility: hidden;
    position: absolute;
    top: 0;
    left: -9999em;
    line-height: normal;
}

.xterm.enable-mouse-events {
    /* When mouse events are enabled (eg. tmux), revert to the standard pointer cursor */
    cursor: default;
}

.xterm.xterm-cursor-pointer,
.xterm .xterm-cursor-pointer {
    cursor: pointer;
}

.xterm.column-select.focus {
    /* Column selection mode */
    cursor: crosshair;
}

.xterm .xterm-accessibility:not(.debug),
.xterm .xterm-message {
    position: absolute;
    left: 0;
    top: 0;
    bottom: 0;
    right: 0;
    z-index: 10;
    color: transparent;
    pointer-events: none;
}

.xterm .xterm-accessibility-tree:not(.debug) *::selection {
  color: transparent;
}

.xterm .xterm-accessibility-tree {
  font-family: monospace;
  user-select: text;
  white-space: pre;
}

.xterm .xterm-accessibility-tree > div {
  transform-origin: left;
  width: fit-content;
}

.xterm .live-region {
    position: absolute;
    left: -9999px;
    width: 1px;
    height: 1px;
    overflow: hidden;
}

.xterm-dim {
    /* Dim should not apply to background, so the opacity of the foreground color is applied
     * explicitly in the generated class and reset to 1 here */
    opacity: 1 !important;
}

.xterm-underline-1 { text-decoration: underline; }
.xterm-underline-2 { text-decoration: double underline; }
.xterm-underline-3 { text-decoration: wavy underline; }
.xterm-underline-4 { text-decoration: dotted underline; }
.xterm-underline-5 { text-decoration: dashed underline; }

.xterm-overline {
    text-decoration: overline;
}

.xterm-overline.xterm-underline-1 { text-decoration: overline underline; }
.xterm-overline.xterm-underline-2 { text-decoration: overline double underline; }
.xterm-overline.xterm-underline-3 { text-decoration: overline wavy underline; }
.xterm-overline.xterm-underline-4 { text-decoration: overline dotted underline; }
.xterm-overline.xterm-underline-5 { text-decoration: overline dashed underline; }

.xterm-strikethrough {
    text-decoration: line-through;
}

.xterm-screen .xterm-decoration-container .xterm-decoration {
	z-index: 6;
	position: absolute;
}

.xterm-screen .xterm-decoration-container .xterm-decoration.xterm-decoration-top-layer {
	z-index: 7;
}

.xterm-decoration-overview-ruler {
    z-index: 8;
    position: absolute;
    top: 0;
    right: 0;
    pointer-events: none;
}

.xterm-decoration-top {
    z-index: 2;
    position: relative;
}



/* Derived from vs/base/browser/ui/scrollbar/media/scrollbar.css */

/* xterm.js customization: Override xterm's cursor style */
.xterm .xterm-scrollable-element > .scrollbar {
    cursor: default;
}

/* Arrows */
.xterm .xterm-scrollable-element > .scrollbar > .scra {
	cursor: pointer;
	font-size: 11px !important;
}

.xterm .xterm-scrollable-element > .visible {
	opacity: 1;

	/* Background rule added for IE9 - to allow clicks on dom node */
	background:rgba(0,0,0,0);

	transition: opacity 100ms linear;
	/* In front of peek view */
	z-index: 11;
}
.xterm .xterm-scrollable-element > .invisible {
	opacity: 0;
	pointer-events: none;
}
.xterm .xterm-scrollable-element > .invisible.fade {
	transition: opacity 800ms linear;
}

/* Scrollable Content Inset Shadow */
.xterm .xterm-scrollable-element > .shadow {
	position: absolute;
	display: none;
}
.xterm .xterm-scrollable-element > .shadow.top {
	display: block;
	top: 0;
	left: 3px;
	height: 3px;
	width: 100%;
	box-shadow: var(--vscode-scrollbar-shadow, #000) 0 6px 6px -6px inset;
}
.xterm .xterm-scrollable-element > .shadow.left {
	display: block;
	top: 3px;
	left: 0;
	height: 100%;
	width: 3px;
	box-shadow: var(--vscode-scrollbar-shadow, #000) 6px 0 6px -6px inset;
}
.xterm .xterm-scrollable-element > .shadow.top-left-corner {
	display: block;
	top: 0;
	left: 0;
	height: 3px;
	width: 3px;
}
.xterm .xterm-scrollable-element > .shadow.top.left {
	box-shadow: var(--vscode-scrollbar-shadow, #000) 6px 0 6px -6px inset;
}
`,""]),r.d(t,{},{A:i})},715(e,t,r){var o=r(601),n=r.n(o),a=r(314),i=r.n(a),l=r(739),s=i()(n());s.i(l.A),s.push([e.id,`/* xterm's own stylesheet first, so the page needs a single file (anywidget's _css). */

/* Colours come from JupyterLab's theme variables, with fallbacks for the classic Notebook and
   other hosts. Every text must read at WCAG AA (4.5:1) on light and dark themes alike, which
   the theme's status colours alone do not give (white on its orange, its text colour on its
   pale red band in a dark theme): see the -text, -band and -fill variables. */
.nebula-run {
  --nebula-text: var(--jp-ui-font-color1, #1e1e1e);
  --nebula-muted: var(--jp-ui-font-color2, #616161);
  --nebula-surface: var(--jp-layout-color0, #ffffff);
  --nebula-border: var(--jp-border-color1, #c8c8c8);
  --nebula-ok: var(--jp-success-color1, #2e7d32);
  --nebula-bad: var(--jp-error-color1, #c62828);
  --nebula-warn: var(--jp-warn-color1, #e67e00);
  /* Text in a status colour is pulled towards the theme's own text colour, which the theme
     makes readable on its backgrounds: darker on a light theme, lighter on a dark one. */
  --nebula-ok-text: color-mix(in srgb, var(--nebula-ok) 55%, var(--nebula-text));
  --nebula-bad-text: color-mix(in srgb, var(--nebula-bad) 55%, var(--nebula-text));
  --nebula-warn-text: color-mix(in srgb, var(--nebula-warn) 50%, var(--nebula-text));
  /* Bands are a tint of the status colour over the widget's own background, so the theme's
     text colour reads on them; a stripe in the full colour says which kind they are. */
  --nebula-bad-band: color-mix(in srgb, var(--nebula-bad) 14%, var(--nebula-surface));
  --nebula-warn-band: color-mix(in srgb, var(--nebula-warn) 14%, var(--nebula-surface));
  --nebula-info-band: var(--jp-layout-color2, #eeeeee);
  /* Badges carry white text on a fill dark enough for it (>= 5:1), the same in every theme. */
  --nebula-fill-queued: #616161;
  --nebula-fill-running: #1565c0;
  --nebula-fill-succeeded: #2e7d32;
  --nebula-fill-failed: #c62828;
  --nebula-fill-cancelled: #a54c00;
  border: 1px solid var(--nebula-border);
  border-radius: 4px;
  overflow: hidden;
  background: var(--nebula-surface);
  color: var(--nebula-text);
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
}

.nebula-header {
  display: flex;
  align-items: center;
  gap: 8px;
  padding: 4px 8px;
  border-bottom: 1px solid var(--nebula-border);
  background: var(--jp-layout-color1, #f5f5f5);
  min-height: 28px;
}

.nebula-title {
  font-weight: 600;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
  min-width: 0;
}

.nebula-badge {
  flex: none;
  padding: 1px 8px;
  border-radius: 10px;
  font-size: 0.9em;
  font-weight: 600;
  color: #ffffff;
  background: var(--nebula-fill-queued);
  white-space: nowrap;
}
.nebula-badge[data-status="queued"] {
  background: var(--nebula-fill-queued);
}
.nebula-badge[data-status="running"] {
  background: var(--nebula-fill-running);
}
.nebula-badge[data-status="succeeded"] {
  background: var(--nebula-fill-succeeded);
}
.nebula-badge[data-status="failed"] {
  background: var(--nebula-fill-failed);
}
.nebula-badge[data-status="cancelled"] {
  background: var(--nebula-fill-cancelled);
}
.nebula-badge[data-status="unknown"] {
  color: var(--nebula-muted);
  background: transparent;
  border: 1px solid var(--nebula-border);
}

.nebula-connection {
  flex: none;
  color: var(--nebula-muted);
  font-size: 0.9em;
  white-space: nowrap;
}
.nebula-connection[data-connection="open"]::before {
  content: "● ";
  color: var(--nebula-ok-text);
}
.nebula-connection[data-connection="reconnecting"],
.nebula-connection[data-connection="unavailable"] {
  color: var(--nebula-warn-text);
}

.nebula-spacer {
  flex: 1 1 auto;
}

.nebula-cancel {
  flex: none;
  padding: 2px 10px;
  border: 1px solid var(--nebula-border);
  border-radius: 3px;
  background: var(--nebula-surface);
  color: var(--nebula-text);
  font: inherit;
  cursor: pointer;
}
.nebula-cancel:hover:not(:disabled) {
  border-color: var(--nebula-bad);
  color: var(--nebula-bad-text);
}
/* Dimmed by colour, not opacity: faded text would fall below the contrast readers need. */
.nebula-cancel:disabled {
  cursor: default;
  border-style: dashed;
  color: var(--nebula-muted);
}
.nebula-cancel[data-phase="pending"],
.nebula-cancel[data-phase="requested"] {
  cursor: progress;
}

.nebula-truncated,
.nebula-message {
  padding: 4px 8px;
  border-bottom: 1px solid var(--nebula-border);
  font-size: 0.95em;
}
.nebula-truncated {
  border-left: 3px solid var(--nebula-warn);
  background: var(--nebula-warn-band);
  color: var(--nebula-text);
}
/* The band's own text colour, told apart by its underline: a theme's link blue does not
   reach 4.5:1 on every band. */
.nebula-truncated a {
  color: inherit;
  font-weight: 600;
  text-decoration: underline;
  cursor: pointer;
}
.nebula-message[data-kind="error"] {
  border-left: 3px solid var(--nebula-bad);
  background: var(--nebula-bad-band);
  color: var(--nebula-text);
}
.nebula-message[data-kind="info"] {
  background: var(--nebula-info-band);
  color: var(--nebula-text);
}
.nebula-truncated[hidden],
.nebula-message[hidden],
.nebula-term[hidden],
.nebula-badge[hidden],
.nebula-cancel[hidden] {
  display: none;
}

/* The fit addon sizes the terminal from this container: no padding here (it goes on .xterm,
   which the addon accounts for). Its height is set inline by terminal.ts: as tall as the output,
   from 40px up to the height_px trait. */
.nebula-term {
  position: relative;
  width: 100%;
  padding: 0;
  box-sizing: border-box;
  overflow: hidden;
  background: var(--nebula-surface);
}
.nebula-term .xterm {
  box-sizing: border-box;
  height: 100%;
  padding: 4px 0 4px 6px;
}
/* xterm.css paints the viewport black; it spans our padding and the part of the last row the
   fit leaves over, so let the container's (theme) background show through instead. */
.nebula-term .xterm .xterm-viewport {
  background-color: transparent;
}
/* Below height_px the terminal is as tall as its output: nothing to scroll, and no scrollbar
   flashing each time it grows (terminal.ts sets data-fill). */
.nebula-term[data-fill="content"] .xterm-scrollable-element > .scrollbar {
  visibility: hidden;
}
`,""]),r.d(t,{},{A:s})},646(e,t,r){var o=r(601),n=r.n(o),a=r(314),i=r.n(a),l=r(715),s=i()(n());s.i(l.A),s.push([e.id,`
`,""]),r.d(t,{},{A:s})},314(e){e.exports=function(e){var t=[];return t.toString=function(){return this.map(function(t){var r="",o=void 0!==t[5];return t[4]&&(r+="@supports (".concat(t[4],") {")),t[2]&&(r+="@media ".concat(t[2]," {")),o&&(r+="@layer".concat(t[5].length>0?" ".concat(t[5]):""," {")),r+=e(t),o&&(r+="}"),t[2]&&(r+="}"),t[4]&&(r+="}"),r}).join("")},t.i=function(e,r,o,n,a){"string"==typeof e&&(e=[[null,e,void 0]]);var i={};if(o)for(var l=0;l<this.length;l++){var s=this[l][0];null!=s&&(i[s]=!0)}for(var d=0;d<e.length;d++){var c=[].concat(e[d]);o&&i[c[0]]||(void 0!==a&&(void 0===c[5]||(c[1]="@layer".concat(c[5].length>0?" ".concat(c[5]):""," {").concat(c[1],"}")),c[5]=a),r&&(c[2]&&(c[1]="@media ".concat(c[2]," {").concat(c[1],"}")),c[2]=r),n&&(c[4]?(c[1]="@supports (".concat(c[4],") {").concat(c[1],"}"),c[4]=n):c[4]="".concat(n)),t.push(c))}},t}},601(e){e.exports=function(e){return e[1]}},665(e,t,r){r.r(t);var o=r(72),n=r.n(o),a=r(825),i=r.n(a),l=r(659),s=r.n(l),d=r(56),c=r.n(d),u=r(540),b=r.n(u),p=r(113),h=r.n(p),m=r(646),x={};x.styleTagTransform=h(),x.setAttributes=c(),x.insert=s().bind(null,"head"),x.domAPI=i(),x.insertStyleElement=b(),n()(m.A,x);let f=m.A&&m.A.locals?m.A.locals:void 0;r.d(t,{},{default:f})},72(e){var t=[];function r(e){for(var r=-1,o=0;o<t.length;o++)if(t[o].identifier===e){r=o;break}return r}function o(e,o){for(var n={},a=[],i=0;i<e.length;i++){var l=e[i],s=o.base?l[0]+o.base:l[0],d=n[s]||0,c="".concat(s," ").concat(d);n[s]=d+1;var u=r(c),b={css:l[1],media:l[2],sourceMap:l[3],supports:l[4],layer:l[5]};if(-1!==u)t[u].references++,t[u].updater(b);else{var p=function(e,t){var r=t.domAPI(t);return r.update(e),function(t){t?(t.css!==e.css||t.media!==e.media||t.sourceMap!==e.sourceMap||t.supports!==e.supports||t.layer!==e.layer)&&r.update(e=t):r.remove()}}(b,o);o.byIndex=i,t.splice(i,0,{identifier:c,updater:p,references:1})}a.push(c)}return a}e.exports=function(e,n){var a=o(e=e||[],n=n||{});return function(e){e=e||[];for(var i=0;i<a.length;i++){var l=r(a[i]);t[l].references--}for(var s=o(e,n),d=0;d<a.length;d++){var c=r(a[d]);0===t[c].references&&(t[c].updater(),t.splice(c,1))}a=s}}},659(e){var t={};e.exports=function(e,r){var o=function(e){if(void 0===t[e]){var r=document.querySelector(e);if(window.HTMLIFrameElement&&r instanceof window.HTMLIFrameElement)try{r=r.contentDocument.head}catch(e){r=null}t[e]=r}return t[e]}(e);if(!o)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");o.appendChild(r)}},540(e){e.exports=function(e){var t=document.createElement("style");return e.setAttributes(t,e.attributes),e.insert(t,e.options),t}},56(e,t,r){e.exports=function(e){var t=r.nc;t&&e.setAttribute("nonce",t)}},825(e){e.exports=function(e){if("u"<typeof document)return{update:function(){},remove:function(){}};var t=e.insertStyleElement(e);return{update:function(r){var o,n,a;o="",r.supports&&(o+="@supports (".concat(r.supports,") {")),r.media&&(o+="@media ".concat(r.media," {")),(n=void 0!==r.layer)&&(o+="@layer".concat(r.layer.length>0?" ".concat(r.layer):""," {")),o+=r.css,n&&(o+="}"),r.media&&(o+="}"),r.supports&&(o+="}"),(a=r.sourceMap)&&"u">typeof btoa&&(o+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(a))))," */")),e.styleTagTransform(o,t,e.options)},remove:function(){var e;null===(e=t).parentNode||e.parentNode.removeChild(e)}}}},113(e){e.exports=function(e,t){if(t.styleSheet)t.styleSheet.cssText=e;else{for(;t.firstChild;)t.removeChild(t.firstChild);t.appendChild(document.createTextNode(e))}}}}]);