// The designer's bridge to bpmn-js, loaded by `app/src/diagram.rs` before the modeler
// mounts (a real script, not functions built from strings, so the Content-Security-Policy
// needs no 'unsafe-eval'). Each function is called from Rust with plain values.
window.LwamsDiagram = {
  // A bpmn-js module: a palette provider adding one entry per LWAMS kind, which creates
  // the element with its `lwams:kind` (click, then click on the canvas; or drag), and a
  // context pad entry "Append LWAMS step" opening a searchable popup menu of the same
  // kinds, whose choice is placed after the element and connected to it.
  paletteModule: function (entries, labels) {
    function shapeOf(e, bpmnFactory, elementFactory) {
      var attrs = {};
      if (e.kind) { attrs['lwams:kind'] = e.kind; }
      var bo = bpmnFactory.create(e.bpmn_type, attrs);
      return elementFactory.createShape({ type: e.bpmn_type, businessObject: bo });
    }
    function LwamsPalette(palette, create, elementFactory, bpmnFactory) {
      palette.registerProvider(this);
      this.getPaletteEntries = function () {
        var out = {};
        entries.forEach(function (e) {
          function start(event) {
            create.start(event, shapeOf(e, bpmnFactory, elementFactory));
          }
          out['lwams-create.' + e.key] = {
            group: 'lwams', title: e.title, imageUrl: e.icon,
            action: { dragstart: start, click: start }
          };
        });
        return out;
      };
    }
    LwamsPalette.$inject = ['palette', 'create', 'elementFactory', 'bpmnFactory'];
    function LwamsAppend(contextPad, popupMenu, autoPlace, elementFactory, bpmnFactory) {
      contextPad.registerProvider(this);
      popupMenu.registerProvider('lwams-append', this);
      this.getPopupMenuEntries = function (target) {
        var out = {};
        entries.forEach(function (e) {
          out['lwams-append.' + e.key] = {
            label: e.title, imageUrl: e.icon,
            action: function () {
              autoPlace.append(target, shapeOf(e, bpmnFactory, elementFactory));
            }
          };
        });
        return out;
      };
      this.getContextPadEntries = function (element) {
        var bo = element.businessObject;
        var type = bo && bo.$type;
        if (!type || element.labelTarget || type === 'bpmn:EndEvent'
            || type === 'bpmn:SequenceFlow' || type.indexOf('bpmn:') !== 0
            || !bo.$instanceOf('bpmn:FlowNode')) {
          return {};
        }
        return {
          'lwams-append': {
            group: 'model', title: labels.append, imageUrl: labels.icon,
            action: {
              click: function (event, el) {
                popupMenu.open(el, 'lwams-append',
                  { x: event.clientX + 5, y: event.clientY + 5 },
                  { title: labels.append, search: true, width: 260 });
              }
            }
          }
        };
      };
    }
    LwamsAppend.$inject = ['contextPad', 'popupMenu', 'autoPlace', 'elementFactory', 'bpmnFactory'];
    return {
      __init__: ['lwamsPalette', 'lwamsAppend'],
      lwamsPalette: ['type', LwamsPalette],
      lwamsAppend: ['type', LwamsAppend]
    };
  },

  // What `Structure` holds for a business object, as JSON: a gateway-leaving flow's
  // condition, a gateway's default flow and outgoing flows, a timer's kind and
  // expression.
  readStructure: function (bo) {
    var out = {};
    var type = bo.$type;
    var gateways = ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway', 'bpmn:ComplexGateway'];
    if (type === 'bpmn:SequenceFlow' && bo.sourceRef && gateways.indexOf(bo.sourceRef.$type) >= 0) {
      out.condition = bo.conditionExpression ? (bo.conditionExpression.body || '') : '';
    }
    if (gateways.indexOf(type) >= 0) {
      out.defaultFlow = bo['default'] ? bo['default'].id : '';
      // From the process's flows: `bo.outgoing` is empty when the file leaves out
      // the optional <outgoing> references.
      var flows = ((bo.$parent && bo.$parent.flowElements) || []).filter(function (f) {
        return f.$type === 'bpmn:SequenceFlow' && f.sourceRef === bo;
      });
      out.outgoing = flows.map(function (f) {
        var to = f.targetRef ? (f.targetRef.name || f.targetRef.id) : '';
        return [f.id, f.name ? f.name + ' → ' + to : '→ ' + to];
      });
    }
    var timer = (bo.eventDefinitions || []).filter(function (d) {
      return d.$type === 'bpmn:TimerEventDefinition';
    })[0];
    if (timer) {
      var kind = ['timeDuration', 'timeCycle', 'timeDate'].filter(function (k) { return timer[k]; })[0] || '';
      out.timer = [kind, kind ? (timer[kind].body || '') : ''];
    }
    return JSON.stringify(out);
  },

  // `[process id, name]` as JSON (the root's process, or for a collaboration its first
  // participant's).
  readProcess: function (modeler) {
    var root = modeler.get('canvas').getRootElement();
    var bo = root && root.businessObject;
    if (bo && bo.$type === 'bpmn:Collaboration') {
      bo = (bo.participants || []).map(function (p) { return p.processRef; }).filter(Boolean)[0];
    }
    return bo ? JSON.stringify([bo.id || '', bo.name || '']) : null;
  },

  // Renames the process as one undoable command.
  writeProcess: function (modeler, id, name) {
    var root = modeler.get('canvas').getRootElement();
    var modeling = modeler.get('modeling');
    var bo = root.businessObject;
    if (bo.$type === 'bpmn:Process') {
      modeling.updateProperties(root, { id: id, name: name || undefined });
      return;
    }
    var process = (bo.participants || []).map(function (p) { return p.processRef; }).filter(Boolean)[0];
    if (process) {
      modeling.updateModdleProperties(root, process, { id: id, name: name || undefined });
    }
  },

  // Sets, as one undoable command: `condition` a (empty: none), `default` flow a
  // (empty: none), `timer` kind a with expression b.
  writeStructure: function (modeler, id, field, a, b) {
    var registry = modeler.get('elementRegistry');
    var modeling = modeler.get('modeling');
    var factory = modeler.get('bpmnFactory');
    var el = registry.get(id);
    if (!el) { return; }
    if (field === 'condition') {
      modeling.updateProperties(el, {
        conditionExpression: a ? factory.create('bpmn:FormalExpression', { body: a }) : undefined
      });
    } else if (field === 'default') {
      var flow = a ? registry.get(a) : null;
      modeling.updateProperties(el, { 'default': flow ? flow.businessObject : undefined });
    } else if (field === 'timer') {
      var timer = (el.businessObject.eventDefinitions || []).filter(function (d) {
        return d.$type === 'bpmn:TimerEventDefinition';
      })[0];
      if (!timer) { return; }
      var props = { timeDuration: undefined, timeCycle: undefined, timeDate: undefined };
      if (a) { props[a] = factory.create('bpmn:FormalExpression', { body: b || '' }); }
      modeling.updateModdleProperties(el, timer, props);
    }
  }
};
