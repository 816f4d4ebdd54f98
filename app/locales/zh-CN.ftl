app-name = LWAMS
app-tagline = 运维自动化平台

menu-flow = 流程
menu-report = 报表
menu-resource = 资源
menu-system = 系统

fn-flow_editor = 流程编辑
fn-flow_monitor = 流程监控
fn-flow_tasks = 任务
fn-flow_schedules = 调度
fn-report_templates = 报表模板
fn-report_data = 报表数据
fn-resource_scripts = 脚本库
fn-resource_data_sources = 数据源
fn-resource_forms = 表单模板
fn-resource_globals = 全局变量
fn-system_company = 公司
fn-system_users = 用户与用户组
fn-system_hosts = 主机
fn-system_holidays = 节假日
fn-system_languages = 多语言

level-none = 无
level-view = 查看
level-manage = 管理

login-title = 登录
login-company = 公司代码
login-company-hint = 只有一个公司时可不填
login-login = 登录名
login-password = 密码
login-submit = 登录
login-failed = 公司代码、登录名或密码错误。
login-locked = 登录失败次数过多，请稍后再试。

nav-menu = 菜单
nav-logout = 退出登录
nav-change-password = 修改密码
nav-language = 语言
nav-home = 首页

common-loading = 加载中…
common-save = 保存
common-saved = 已保存。
common-cancel = 取消
common-delete = 删除
common-edit = 编辑
common-new = 新建
common-search = 搜索
common-yes = 是
common-no = 否
common-actions = 操作
common-name = 名称
common-description = 描述
common-confirm-delete = 确定删除？此操作不可撤销。
common-close = 关闭
common-none-yet = 暂无数据。
common-total = 共 { $count } 条
common-error = 错误：{ $message }
common-read-only = 您可以查看此页面，但不能修改。

home-welcome = 欢迎，{ $name }
home-intro = 请从菜单中选择页面。您只能看到所在用户组允许的功能。

coming-title = 即将推出
coming-body = 此页面属于 LWAMS 的后续版本，目前尚不可用。

company-code = 公司代码
company-name = 公司名称
company-wechat-appid = 微信 appId
company-wechat-secret = 微信 appSecret
company-wechat-secret-set = 已保存密钥。输入新值可替换。
company-wechat-secret-unset = 尚未保存密钥。
company-wechat-secret-clear = 清除已保存的密钥

users-tab-users = 用户
users-tab-groups = 用户组
users-login = 登录名
users-display-name = 显示名称
users-email = 邮箱
users-phone = 电话
users-mobile = 手机
users-enabled = 启用
users-agent = 允许登录 Sub Manager
users-wechat = 微信
users-wechat-bound = 已激活
users-wechat-unbound = 未绑定
users-groups = 用户组
users-password = 密码
users-new-password = 新密码（留空则不修改）
users-new = 新建用户
users-edit = 编辑用户
users-disable = 停用
users-enable = 启用

groups-new = 新建用户组
groups-edit = 编辑用户组
groups-permissions = 权限
groups-members = 成员
groups-associate = 关联用户
groups-associate-help = 勾选要加入此用户组的用户。
groups-function = 功能

password-current = 当前密码
password-new = 新密码
password-repeat = 重复新密码
password-mismatch = 两次输入的新密码不一致。
password-changed = 密码已修改，您的其他会话已退出。

notfound-title = 页面不存在
notfound-body = 此地址没有页面。
forbidden-body = 您所在的用户组没有此页面的权限。

monitor-search = 流程标识
monitor-all-statuses = 全部状态
monitor-flow = 流程
monitor-status = 状态
monitor-start-way = 启动方式
monitor-started = 开始时间
monitor-duration = 耗时
monitor-node = 节点
monitor-output = 输出 / 错误

status-running = 运行中
status-paused = 已暂停
status-failed = 失败
status-completed = 已完成
status-terminated = 已终止
status-skipped = 已跳过
common-previous = 上一页
common-next = 下一页

editor-import = 导入 .bpmn
editor-deployed = 已部署：
editor-refused = 文件未部署：
editor-key = 标识
editor-version = 版本
editor-deployed-at = 部署时间

editor-start-now = 立即启动
editor-open-monitor = 监控
monitor-live = 实时
monitor-reconnecting = 正在重新连接…
monitor-pause = 暂停
monitor-resume = 继续
monitor-terminate = 终止
monitor-retry = 重试
monitor-skip = 跳过
monitor-complete = 完成任务
monitor-pick-node = 点击流程图中的节点，查看其输入、输出和日志。
monitor-exit-code = 退出码
monitor-history = 操作记录
monitor-all-runs = 全部执行记录
monitor-legend-completed = 成功
monitor-legend-active = 运行中
monitor-legend-paused = 暂停 / 重试 / 跳过
monitor-legend-failed = 失败 / 终止
status-not-reached = 未到达
status-interrupted = 已中断
status-cancelled = 已取消
start-way-manual = 手动
start-way-api = API
start-way-call = 调用
start-way-timer = 定时器
start-way-schedule = 调度
action-start = 启动了流程
action-pause = 暂停了流程
action-resume = 继续了流程
action-terminate = 终止了流程
action-retry = 重试了节点
action-skip = 跳过了节点
action-complete = 完成了任务
